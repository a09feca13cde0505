"""What an event is on the wire: a subject, a protobuf payload and a fixed set of headers."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from google.protobuf.message import Message

SUBJECT_PATTERN = re.compile(r"^training\.([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\.v(\d+)$")


class Headers:
    """Header names every platform event carries."""

    MSG_ID = "Nats-Msg-Id"  # the event id; JetStream drops a second publish with the same id
    TYPE = "Training-Event-Type"  # the full protobuf message name of the payload
    SOURCE = "Training-Event-Source"  # the publishing service
    TIME = "Training-Event-Time"  # when the fact happened, RFC 3339 UTC
    KEY = "Training-Event-Key"  # the aggregate the event is about (ordering and partitioning key)
    SEQUENCE = "Training-Outbox-Seq"  # the publisher's outbox sequence number
    TRACEPARENT = "traceparent"
    TRACESTATE = "tracestate"
    # Added when an event is dead-lettered.
    ORIGINAL_SUBJECT = "Training-Original-Subject"
    DEAD_LETTER_REASON = "Training-Dead-Letter-Reason"
    DEAD_LETTER_CONSUMER = "Training-Dead-Letter-Consumer"


def subject_context(subject: str) -> str:
    """The bounded context that owns a subject (`training.exams.attempt.graded.v1` -> `exams`)."""
    match = SUBJECT_PATTERN.match(subject)
    if match is None:
        raise ValueError(
            f"not a platform event subject: {subject!r} (want training.<context>.<aggregate>.<event>.v<N>)"
        )
    return match.group(1)


@dataclass(frozen=True)
class Event:
    """A fact to publish: written to the outbox with the state change that caused it."""

    subject: str
    message: Message
    key: str
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)
    occurred_at: datetime | None = None

    def __post_init__(self) -> None:
        subject_context(self.subject)
        if not self.key:
            raise ValueError("an event needs a key (the aggregate it is about)")
        if self.occurred_at is not None and self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at must be timezone-aware")

    @property
    def event_type(self) -> str:
        return self.message.DESCRIPTOR.full_name


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
