"""JetStream streams: one per publishing context, plus the dead-letter stream. Provisioning is
idempotent: a missing stream is created, an existing one is updated to the declared settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from training_events.envelope import subject_context

log = logging.getLogger(__name__)

DEAD_LETTER_STREAM = "TRAINING_DEADLETTER"
DEAD_LETTER_PREFIX = "training.deadletter"

DAY = 24 * 3600.0


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    max_age_seconds: float = 30 * DAY
    # JetStream drops a second publish of the same Nats-Msg-Id within this window.
    duplicate_window_seconds: float = 3600.0
    replicas: int = 1

    def config(self) -> StreamConfig:
        return StreamConfig(
            name=self.name,
            subjects=list(self.subjects),
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            max_age=self.max_age_seconds,
            duplicate_window=self.duplicate_window_seconds,
            num_replicas=self.replicas,
        )


def stream_for_context(context: str, *, replicas: int = 1) -> StreamSpec:
    """The stream holding every event a context publishes (`exams` -> TRAINING_EXAMS, `training.exams.>`)."""
    return StreamSpec(name=f"TRAINING_{context.upper()}", subjects=(f"training.{context}.>",), replicas=replicas)


def stream_for_subject(subject: str, *, replicas: int = 1) -> StreamSpec:
    return stream_for_context(subject_context(subject), replicas=replicas)


def dead_letter_stream(*, replicas: int = 1) -> StreamSpec:
    return StreamSpec(
        name=DEAD_LETTER_STREAM,
        subjects=(f"{DEAD_LETTER_PREFIX}.>",),
        max_age_seconds=90 * DAY,
        replicas=replicas,
    )


async def ensure_streams(js: JetStreamContext, specs: list[StreamSpec]) -> None:
    """Create each stream that is missing and bring existing ones to the declared configuration."""
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            continue
        seen.add(spec.name)
        try:
            await js.stream_info(spec.name)
        except NotFoundError:
            await js.add_stream(spec.config())
            log.info("created stream %s for %s", spec.name, ", ".join(spec.subjects))
        else:
            await js.update_stream(spec.config())
