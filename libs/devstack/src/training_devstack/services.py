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
    # False for the provincial platform simulator (HTTPS): it is waited for by its port, not gRPC health.
    grpc: bool = True
    # For a plain HTTP process with a readiness endpoint (the gateway: /readyz), waited for until it answers 200.
    readiness_path: str = ""
    # Other services it calls by their own `<PREFIX><PEER>_URL` setting (besides identity).
    peers: tuple[str, ...] = ()

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


SIMULATOR_PORT = 8443


def _simulator_env(s: dict[str, str]) -> dict[str, str]:
    return {
        "SIMULATOR_TOKEN": s["province_token"],
        "SIMULATOR_PORT": str(SIMULATOR_PORT),
        "SIMULATOR_CERT_FILE": s["province_certificate"],
    }


def _certificates_env(s: dict[str, str]) -> dict[str, str]:
    return {
        **client_secret_env("certificates")(s),
        "CERTIFICATES_CERTIFICATE_SIGNING_KEYS": s["certificate_signing_keys"],
        # The QR code opens the gateway's public verification page.
        "CERTIFICATES_VERIFICATION_URL": f"http://127.0.0.1:{GATEWAY_PORT}/verify",
    }


def _supervision_env(s: dict[str, str]) -> dict[str, str]:
    return {
        **client_secret_env("supervision")(s),
        "SUPERVISION_PROVINCE_URL": f"https://127.0.0.1:{SIMULATOR_PORT}",
        "SUPERVISION_PROVINCE_TOKEN": s["province_token"],
        "SUPERVISION_PROVINCE_CA_FILE": s["province_certificate"],
        # Locally, commands issued at the simulator are picked up within seconds.
        "SUPERVISION_COMMAND_POLL_INTERVAL_SECONDS": "3",
    }


def _gateway_env(s: dict[str, str]) -> dict[str, str]:
    """The gateway serves the web app and the bundled demo media, and waits for the installed services."""
    media = Path(__file__).parent / "media"
    backends = [
        launch.name for launch in SERVICES if launch.grpc and launch.name in GATEWAY_BACKENDS and launch.installed
    ]
    return {
        "GATEWAY_HTTP_PORT": str(GATEWAY_PORT),
        "GATEWAY_MEDIA_ROOTS": f"demo={media}",
        "GATEWAY_REQUIRED_SERVICES": ",".join(backends),
    }


GATEWAY_BACKENDS = ("identity", "courses", "learning", "exams", "certificates")
GATEWAY_PORT = 8080

SERVICES: list[Launch] = [
    Launch("identity", "training_identity", 50051, "IDENTITY_", _identity_env),
    Launch("courses", "training_courses", 50052, "COURSES_", _rulebook_service_env("courses")),
    Launch("learning", "training_learning", 50053, "LEARNING_", _rulebook_service_env("learning")),
    Launch("exams", "training_exams", 50054, "EXAMS_", _rulebook_service_env("exams")),
    Launch("certificates", "training_certificates", 50055, "CERTIFICATES_", _certificates_env),
    # The simulator starts before supervision, which trusts the certificate it writes at start-up.
    Launch(
        "province-simulator",
        "training_supervision_simulator",
        SIMULATOR_PORT,
        "SIMULATOR_",
        _simulator_env,
        has_database=False,
        grpc=False,
    ),
    Launch(
        "supervision",
        "training_supervision",
        50056,
        "SUPERVISION_",
        _supervision_env,
        peers=("courses", "learning", "certificates"),
    ),
    # Last: it waits for the services above to be ready.
    Launch(
        "gateway",
        "training_gateway",
        GATEWAY_PORT,
        "GATEWAY_",
        _gateway_env,
        has_database=False,
        grpc=False,
        readiness_path="/readyz",
    ),
]


def installed_services() -> list[Launch]:
    return [s for s in SERVICES if s.installed]
