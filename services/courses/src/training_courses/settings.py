"""Courses' settings (environment variables prefixed COURSES_)."""

from __future__ import annotations

from pydantic import Field, field_validator

from training_rulebook import RulebookError, load_rulebook
from training_runtime.settings import ServiceSettings, service_config


class CoursesSettings(ServiceSettings):
    model_config = service_config("COURSES_")

    grpc_port: int = Field(50052, ge=0, le=65535)
    # The rulebook document: "default", "demo" or a JSON file path. New syllabi and classes use the
    # version in force; learning must name the same document.
    rulebook: str = "default"

    @field_validator("rulebook")
    @classmethod
    def _rulebook(cls, value: str) -> str:
        try:
            load_rulebook(value)
        except RulebookError as exc:
            raise ValueError(str(exc)) from None
        return value
