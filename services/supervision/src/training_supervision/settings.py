"""Supervision's settings (environment variables prefixed SUPERVISION_)."""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, field_validator, model_validator

from training_runtime.settings import ServiceSettings, service_config


class SupervisionSettings(ServiceSettings):
    model_config = service_config("SUPERVISION_")

    grpc_port: int = Field(50056, ge=0, le=65535)

    # The provincial supervision platform (docs/supervision-contract.md).
    province_url: str
    # The bearer token the province issued to this platform.
    province_token: SecretStr
    # PEM file of the certificate(s) to trust for the province's HTTPS; empty means the system's CAs.
    province_ca_file: str = ""
    # The province the platform reports to: regulator commands act only within it.
    province_region_code: str = "440000"

    # Pushing: records per request, requests in flight, records of one order key per request.
    push_batch_size: int = Field(50, ge=1, le=500)
    push_concurrency: int = Field(4, ge=1, le=64)
    # One request's deadline; an unanswered push is retried (the idempotency key makes that safe).
    push_timeout_seconds: float = Field(10.0, gt=0, le=300)
    # Attempts before a record goes to the failed-push list.
    push_max_attempts: int = Field(10, ge=1, le=1000)
    # Exponential backoff with full jitter: a random wait up to min(max, base * 2^(attempt - 1)).
    push_backoff_base_seconds: float = Field(1.0, gt=0)
    push_backoff_max_seconds: float = Field(300.0, gt=0)
    # How often the pusher looks for due records when idle.
    push_poll_interval_seconds: float = Field(0.5, gt=0, le=60)

    # The daily batch of the previous day (China Standard Time) runs at this hour, then reconciliation.
    daily_batch_hour: int = Field(2, ge=0, le=23)
    # How often regulator commands are fetched from the province.
    command_poll_interval_seconds: float = Field(10.0, gt=0)

    # The owning services regulator commands are applied through.
    courses_url: str = "127.0.0.1:50052"
    learning_url: str = "127.0.0.1:50053"
    certificates_url: str = "127.0.0.1:50055"
    # The services whose record-chain heads go to the province each day (docs/records.md), as
    # name=host:port pairs; supervision's own chains are read from its database.
    record_chain_services: str = (
        "identity=127.0.0.1:50051,learning=127.0.0.1:50053,exams=127.0.0.1:50054,certificates=127.0.0.1:50055"
    )
    # Deadline of calls to identity and the owning services.
    call_timeout_seconds: float = Field(10.0, gt=0, le=120)

    @field_validator("province_url")
    @classmethod
    def _https(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError("must be an https:// URL (records carry personal data)")
        return value.rstrip("/")

    @field_validator("province_token")
    @classmethod
    def _token(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return value

    @field_validator("record_chain_services")
    @classmethod
    def _chain_services(cls, value: str) -> str:
        chain_services(value)
        return value

    @field_validator("province_region_code")
    @classmethod
    def _region(cls, value: str) -> str:
        if not re.fullmatch(r"\d{6}", value):
            raise ValueError("must be a 6-digit region code")
        return value

    @model_validator(mode="after")
    def _backoff(self) -> SupervisionSettings:
        if self.push_backoff_max_seconds < self.push_backoff_base_seconds:
            raise ValueError("push_backoff_max_seconds must not be below push_backoff_base_seconds")
        return self


def chain_services(value: str) -> dict[str, str]:
    """`identity=host:port,learning=host:port` -> {"identity": "host:port", ...}."""
    found: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        name, sep, address = item.partition("=")
        if not sep or not re.fullmatch(r"[a-z][a-z0-9_-]*", name.strip()) or ":" not in address:
            raise ValueError("must be a comma-separated list of service=host:port")
        if name.strip() in found:
            raise ValueError(f"{name.strip()} appears twice")
        found[name.strip()] = address.strip()
    return found
