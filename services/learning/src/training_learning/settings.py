"""Learning's settings (environment variables prefixed LEARNING_)."""

from __future__ import annotations

from pydantic import Field, field_validator

from training_rulebook import RulebookError, load_rulebook
from training_runtime.settings import ServiceSettings, service_config


class LearningSettings(ServiceSettings):
    model_config = service_config("LEARNING_")

    grpc_port: int = Field(50053, ge=0, le=65535)
    # The rulebook document whose versions govern classes: "default", "demo" or a JSON file path.
    # Courses must name the same one (classes carry the version they were opened under).
    rulebook: str = "default"
    # Heartbeats stored per transaction at most (group commit; see docs/learning.md).
    heartbeat_batch_max: int = Field(256, ge=1, le=5000)
    # Batches stored concurrently (each holds distinct sessions); overlaps judging with commits.
    heartbeat_writers: int = Field(4, ge=1, le=64)
    # How long a face check may take at identity before the call fails as unavailable.
    face_check_timeout_seconds: float = Field(15.0, gt=0, le=120)
    # How often silent sessions are looked for and ended.
    sweep_interval_seconds: float = Field(30.0, gt=0)

    @field_validator("rulebook")
    @classmethod
    def _rulebook(cls, value: str) -> str:
        try:
            document = load_rulebook(value)
        except RulebookError as exc:
            raise ValueError(str(exc)) from None
        gated = [v.version for v in document.versions if v.lesson_quiz_gate.enabled]
        if gated:
            # The end-of-lesson quiz belongs to exams, which does not publish quiz results yet.
            raise ValueError(f"versions {', '.join(gated)} switch the lesson quiz gate on, which is not supported yet")
        return value
