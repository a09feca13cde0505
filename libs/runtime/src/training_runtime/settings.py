"""Settings from the environment: one class per service, validated at start-up.

A service subclasses `ServiceSettings`, sets its `env_prefix` (e.g. `IDENTITY_`) and default port,
and adds its own fields. `load_settings` turns every missing or bad value into one clear message, so
a misconfigured pod fails at once instead of at its first request.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Literal, TypeVar

from pydantic import AfterValidator, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(SystemExit):
    """Raised (and exits the process with status 2) when settings are missing or invalid."""

    def __init__(self, message: str) -> None:
        super().__init__(2)
        self.message = message

    def __str__(self) -> str:
        return self.message


def normalize_database_url(url: str) -> str:
    """Accept `postgresql://` (as operators write it) and use the asyncpg driver."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("must be a PostgreSQL URL (postgresql://user:password@host:port/database)")


def _check_nats_url(url: str) -> str:
    for part in url.split(","):
        if not part.strip().startswith(("nats://", "tls://", "ws://", "wss://")):
            raise ValueError("must be nats://host:port (comma-separated for a cluster)")
    return url


def decode_key(value: str, *, length: int = 32) -> bytes:
    """A base64 (standard or URL-safe) encoded secret key of exactly `length` bytes."""
    try:
        raw = base64.urlsafe_b64decode(value.strip().replace("+", "-").replace("/", "_") + "==")
    except (binascii.Error, ValueError) as exc:
        raise ValueError("must be base64") from exc
    if len(raw) != length:
        raise ValueError(f"must decode to {length} bytes, got {len(raw)}")
    return raw


def parse_keyring(value: str, *, length: int = 32) -> dict[str, bytes]:
    """`kid1:base64key,kid2:base64key`: the first key is current, the others still decrypt/verify."""
    ring: dict[str, bytes] = {}
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        kid, sep, encoded = item.partition(":")
        if not sep or not kid.strip():
            raise ValueError("must be a comma-separated list of key_id:base64key")
        if kid in ring:
            raise ValueError(f"key id {kid!r} appears twice")
        ring[kid.strip()] = decode_key(encoded, length=length)
    if not ring:
        raise ValueError("must name at least one key")
    return ring


DatabaseUrl = Annotated[str, AfterValidator(normalize_database_url)]
NatsUrl = Annotated[str, AfterValidator(_check_nats_url)]


class ProcessSettings(BaseSettings):
    """Settings every platform process has, gRPC service or not (the HTTP gateway): logs, telemetry,
    shutdown, and where identity answers."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    shutdown_grace_seconds: float = Field(20.0, gt=0)
    # After SIGTERM, keep answering (health NOT_SERVING) this long so load balancers stop routing here.
    shutdown_drain_delay_seconds: float = Field(0.0, ge=0, le=60)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = "json"
    # Access log lines: every call, or only failed and slow ones (the default: a line per heartbeat
    # costs more than the heartbeat), or none.
    access_log: Literal["all", "errors", "off"] = "errors"
    access_log_slow_ms: float = Field(1000.0, ge=0)
    # Fraction of new traces recorded (parent-based: a sampled caller's trace is always continued).
    # 0.1 keeps tracing's cost on the hot paths small (docs/operations.md); `make run` records all.
    trace_sample_ratio: float = Field(0.1, ge=0.0, le=1.0)
    # OTLP/gRPC collector endpoint; unset means traces and metrics are not exported.
    otlp_endpoint: str | None = None

    # Where identity answers; every other service fetches token-verification keys from it.
    identity_url: str = "127.0.0.1:50051"


class ServiceSettings(ProcessSettings):
    """Settings every gRPC service has. Subclasses set `model_config = service_config("IDENTITY_")`."""

    database_url: DatabaseUrl
    database_pool_size: int = Field(10, ge=1, le=200)
    nats_url: NatsUrl
    nats_user: str | None = None
    nats_password: SecretStr | None = None
    nats_token: SecretStr | None = None
    nats_stream_replicas: int = Field(1, ge=1, le=5)

    grpc_host: str = "0.0.0.0"
    grpc_port: int = Field(ge=0, le=65535)
    grpc_max_message_bytes: int = Field(4 * 1024 * 1024, ge=1024)
    health_check_interval_seconds: float = Field(1.0, gt=0)

    # This service's client secret for service tokens (identity holds the matching list).
    service_client_secret: SecretStr | None = None

    outbox_batch_size: int = Field(256, ge=1, le=5000)
    outbox_poll_interval_seconds: float = Field(1.0, gt=0)
    outbox_retention_hours: float = Field(72.0, gt=0)
    consumer_max_deliver: int = Field(10, ge=1, le=1000)

    @field_validator("grpc_host")
    @classmethod
    def _host(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value


def service_config(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=prefix, extra="ignore", frozen=True)


S = TypeVar("S", bound=BaseSettings)


def load_settings(cls: type[S], **overrides: object) -> S:
    """Build settings from the environment (plus explicit overrides) or raise `SettingsError`."""
    try:
        return cls(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        prefix = cls.model_config.get("env_prefix", "")
        lines = []
        for error in exc.errors():
            name = "_".join(str(part) for part in error["loc"])
            problem = "is required" if error["type"] == "missing" else error["msg"]
            lines.append(f"  {prefix}{name.upper()}: {problem}")
        raise SettingsError(f"{cls.__name__}: invalid configuration\n" + "\n".join(lines)) from None
