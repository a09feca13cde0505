"""A record for the provincial platform: what it is about, the key that orders it, and the one
idempotency key the province stores it under however often it is sent.

Records of one order key reach the province in the order supervision made them: a trainee's records
(registration, enrollment, hours, face checks, exams, certificate) share the key `trainee:<id>`; an
institution's own records and those of its courses and classes share `institution:<id>`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

CHINA = timezone(timedelta(hours=8), "CST")


class RecordType(StrEnum):
    INSTITUTION = "institution"
    COURSE = "course"
    CLASS = "class"
    TRAINEE = "trainee"
    ENROLLMENT = "enrollment"
    HOUR_RECORD = "hour_record"
    HOUR_INVALIDATION = "hour_invalidation"
    COMPLETION = "completion"
    FACE_CHECK = "face_check"
    EXAM_RESULT = "exam_result"
    CERTIFICATE = "certificate"
    ANOMALY = "anomaly"
    CHAIN_HEAD = "chain_head"


class PushStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    FAILED = "failed"


@dataclass(frozen=True)
class Record:
    idempotency_key: str
    record_type: RecordType
    operation: str
    order_key: str
    occurred_at: datetime
    region_code: str
    data: dict[str, Any]
    institution_id: str | None = None
    trainee_id: str | None = None
    # Whether the province needs the person's name and ID number with it (added when sent).
    needs_person: bool = False
    hours: float | None = None
    passed: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def trainee_key(trainee_id: str) -> str:
    return f"trainee:{trainee_id}"


def institution_key(institution_id: str) -> str:
    return f"institution:{institution_id}"


def trainee_record_key(trainee_id: str) -> str:
    """The trainee record is one per person, whatever event first names them."""
    return f"trainee:{trainee_id}"


def day_of(moment: datetime) -> date:
    return moment.astimezone(CHINA).date()


def backoff_seconds(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2^(attempt-1))]."""
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return (rng or random).uniform(0, ceiling)
