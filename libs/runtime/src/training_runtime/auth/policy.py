"""Which roles may call which RPC: declared once per service, checked by the server interceptor.

The policy must name every method of the service (checked at start-up), so a new RPC cannot ship
without an access decision. Row-level scoping (own record, own institution, own region) is the
service's job, using the principal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from training_runtime.auth.principal import Role


@dataclass(frozen=True)
class Rule:
    roles: frozenset[Role]
    public: bool = False

    def permits(self, role: Role | None) -> bool:
        return self.public or (role is not None and role in self.roles)


def allow(*roles: Role) -> Rule:
    if not roles:
        raise ValueError("allow() needs at least one role; use public() for open methods")
    return Rule(roles=frozenset(roles))


def public() -> Rule:
    """Callable without a token (the method itself checks whatever credential it takes)."""
    return Rule(roles=frozenset(), public=True)


# Infrastructure services every server hosts; open to all (Kubernetes probes, grpcurl).
_OPEN_SERVICES = (
    "grpc.health.v1.Health",
    "grpc.reflection.v1alpha.ServerReflection",
    "grpc.reflection.v1.ServerReflection",
)


class AccessPolicy:
    def __init__(self, service: str, rules: Mapping[str, Rule]) -> None:
        self.service = service
        self._rules = {f"/{service}/{method}": rule for method, rule in rules.items()}
        # Every gRPC service this policy covers (the service's own first), with its method names.
        self._services: dict[str, frozenset[str]] = {service: frozenset(rules)}

    def including(self, service: str, rules: Mapping[str, Rule]) -> AccessPolicy:
        """This policy plus the rules of another gRPC service the same server hosts (RecordChainService)."""
        if service in self._services:
            raise ValueError(f"the policy already covers {service}")
        combined = AccessPolicy(self.service, {})
        combined._rules = {**self._rules, **{f"/{service}/{method}": rule for method, rule in rules.items()}}
        combined._services = {**self._services, service: frozenset(rules)}
        return combined

    @property
    def services(self) -> tuple[str, ...]:
        """The gRPC services this policy covers, the service's own first."""
        return tuple(self._services)

    def rule_for(self, full_method: str) -> Rule | None:
        """The rule for `/package.Service/Method`; None means deny (fail closed)."""
        rule = self._rules.get(full_method)
        if rule is None and full_method.lstrip("/").split("/")[0] in _OPEN_SERVICES:
            return public()
        return rule

    def check_complete(self, methods: Iterable[str], *, service: str | None = None) -> None:
        """Raise unless every method of `service` (default: the policy's own) has exactly one rule."""
        service = service or self.service
        declared = set(self._services.get(service, ()))
        actual = set(methods)
        missing = sorted(actual - declared)
        unknown = sorted(declared - actual)
        if missing or unknown:
            raise RuntimeError(
                f"access policy of {service} is out of date: "
                f"no rule for {missing or 'none'}; rules for unknown methods {unknown or 'none'}"
            )

    def roles_for(self, method: str) -> Rule:
        return self._rules[f"/{self.service}/{method}"]
