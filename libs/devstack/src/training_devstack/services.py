"""The platform's processes as `make run` launches them: module, port, settings prefix, and the
environment each needs. A service whose package is not installed is skipped."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field

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


SERVICES: list[Launch] = [
    Launch("identity", "training_identity", 50051, "IDENTITY_", _identity_env),
    Launch("courses", "training_courses", 50052, "COURSES_", _rulebook_service_env("courses")),
    Launch("learning", "training_learning", 50053, "LEARNING_", _rulebook_service_env("learning")),
    Launch("exams", "training_exams", 50054, "EXAMS_", _rulebook_service_env("exams")),
]


def installed_services() -> list[Launch]:
    return [s for s in SERVICES if s.installed]
