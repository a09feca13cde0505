"""Exams' settings (environment variables prefixed EXAMS_)."""

from __future__ import annotations

from pydantic import Field, field_validator

from training_rulebook import RulebookError, load_rulebook
from training_runtime.settings import ServiceSettings, service_config


class ExamsSettings(ServiceSettings):
    model_config = service_config("EXAMS_")

    grpc_port: int = Field(50054, ge=0, le=65535)
    # The rulebook document whose versions govern classes: "default", "demo" or a JSON file path.
    # Courses must name the same one (classes carry the version they were opened under).
    rulebook: str = "default"
    # How long a start face check may take at identity before the call fails as unavailable.
    face_check_timeout_seconds: float = Field(15.0, gt=0, le=120)
    # How often attempts past their deadline are looked for and submitted.
    deadline_sweep_interval_seconds: float = Field(1.0, gt=0, le=60)
    # Attempts submitted per sweeper transaction.
    deadline_sweep_batch: int = Field(100, ge=1, le=5000)
    # Group commit (docs/exams.md): concurrent answers and starts share a transaction, at most this
    # many each, written by this many writers (transactions in flight) per kind.
    write_batch_max: int = Field(256, ge=1, le=5000)
    batch_writers: int = Field(2, ge=1, le=16)

    @field_validator("rulebook")
    @classmethod
    def _rulebook(cls, value: str) -> str:
        try:
            load_rulebook(value)
        except RulebookError as exc:
            raise ValueError(str(exc)) from None
        return value
