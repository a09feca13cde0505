"""The platform's processes as `make run` launches them: module, port, settings prefix, and the
environment each needs. A service whose package is not installed is skipped."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from training_devstack.secrets import service_client_list


@dataclass(frozen=True)
class Launch:
    name: str
    module: str
    port: int
    prefix: str
    # Service-specific settings from the dev secrets (keys, client secrets).
    extra_env: Callable[[dict[str, str]], dict[str, str]] = field(default=lambda _s: {})
    # Whether the process has a database and migrations.
    has_database: bool = True
    # gRPC services report readiness on grpc.health.v1; an HTTP process (the gateway) on GET /readyz.
    grpc: bool = True

    @property
    def installed(self) -> bool:
        return importlib.util.find_spec(self.module) is not None

    @property
    def database(self) -> str:
        return f"training_{self.name}"


def _identity_env(s: dict[str, str]) -> dict[str, str]:
    return {
        "IDENTITY_JWT_SIGNING_KEYS": s["jwt_signing_keys"],
        "IDENTITY_FIELD_ENCRYPTION_KEYS": s["field_encryption_keys"],
        "IDENTITY_LOOKUP_HASH_KEY": s["lookup_hash_key"],
        "IDENTITY_SERVICE_CLIENTS": service_client_list(s),
    }


def client_secret_env(name: str) -> Callable[[dict[str, str]], dict[str, str]]:
    def env(s: dict[str, str]) -> dict[str, str]:
        return {f"{name.upper()}_SERVICE_CLIENT_SECRET": s[f"client_secret_{name}"]}

    return env


def _rulebook_service_env(name: str) -> Callable[[dict[str, str]], dict[str, str]]:
    """The service token secret, and the demo rulebook (one-minute class hours) for the local platform."""
    secret = client_secret_env(name)

    def env(s: dict[str, str]) -> dict[str, str]:
        return {**secret(s), f"{name.upper()}_RULEBOOK": "demo"}

    return env


def _gateway_env(s: dict[str, str]) -> dict[str, str]:
    """The gateway serves the web app and the bundled demo media, and waits for the installed services."""
    media = Path(__file__).parent / "media"
    backends = [
        launch.name for launch in SERVICES if launch.grpc and launch.name in GATEWAY_BACKENDS and launch.installed
    ]
    return {
        "GATEWAY_HTTP_PORT": "8080",
        "GATEWAY_MEDIA_ROOTS": f"demo={media}",
        "GATEWAY_REQUIRED_SERVICES": ",".join(backends),
    }


GATEWAY_BACKENDS = ("identity", "courses", "learning", "exams", "certificates")

SERVICES: list[Launch] = [
    Launch("identity", "training_identity", 50051, "IDENTITY_", _identity_env),
    Launch("courses", "training_courses", 50052, "COURSES_", _rulebook_service_env("courses")),
    Launch("learning", "training_learning", 50053, "LEARNING_", _rulebook_service_env("learning")),
    # Last: it waits for the services above to be ready.
    Launch("gateway", "training_gateway", 8080, "GATEWAY_", _gateway_env, has_database=False, grpc=False),
]


def installed_services() -> list[Launch]:
    return [s for s in SERVICES if s.installed]
