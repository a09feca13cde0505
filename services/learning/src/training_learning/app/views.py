"""What the application layer returns: plain records the API layer turns into protobuf."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from training_learning.domain.session import SessionState, Status, face_check_deadline, face_check_due
from training_rulebook import Rulebook


@dataclass(frozen=True)
class FaceDemand:
    due: bool
    due_at: datetime | None
    deadline: datetime | None


@dataclass(frozen=True)
class SessionView:
    session_id: str
    enrollment_id: str
    lesson_id: str
    device_id: str
    status: Status
    status_reason: str
    started_at: datetime
    ended_at: datetime | None
    resume_position: float
    face_check: FaceDemand
    pending_seconds: float
    lesson_credited_seconds: float
    heartbeat_interval_seconds: float


def demand(state: SessionState, rules: Rulebook, now: datetime) -> FaceDemand:
    return FaceDemand(
        due=face_check_due(state, now),
        due_at=state.next_check_due_at,
        deadline=face_check_deadline(state, rules),
    )


def session_view(
    row: Any,
    state: SessionState,
    rules: Rulebook,
    now: datetime,
    *,
    lesson_credited: float,
    ended_at: datetime | None = None,
) -> SessionView:
    return SessionView(
        session_id=str(row.id),
        enrollment_id=str(row.enrollment_id),
        lesson_id=str(row.lesson_id),
        device_id=row.device_id,
        status=state.status,
        status_reason=state.status_reason.value if state.status is not Status.ACTIVE else "",
        started_at=row.started_at,
        ended_at=ended_at or row.ended_at,
        resume_position=state.credited_furthest,
        face_check=demand(state, rules, now),
        pending_seconds=state.pending_seconds,
        lesson_credited_seconds=lesson_credited,
        heartbeat_interval_seconds=rules.heartbeats.interval_seconds,
    )


@dataclass(frozen=True)
class AckView:
    session_id: str
    sequence: int
    verdict: str
    reason: str
    status: Status
    status_reason: str
    face_check: FaceDemand
    pending_seconds: float
    lesson_credited_seconds: float


@dataclass(frozen=True)
class TopicView:
    topic_id: str
    code: str
    required_hours: int
    credited_seconds: float
    credited_hours: float
    met: bool


@dataclass(frozen=True)
class LessonView:
    lesson_id: str
    course_id: str
    topic_id: str
    duration_seconds: int
    credited_seconds: float
    furthest_position: float
    finished: bool
    withdrawn: bool


@dataclass(frozen=True)
class ProgressView:
    enrollment_id: str
    class_id: str
    trainee_id: str
    institution_id: str
    state: str  # studying | frozen | completed
    rulebook_version: str
    class_hour_seconds: float
    credited_hours: float
    required_hours: int
    topics: list[TopicView]
    lessons: list[LessonView]
    completed_at: datetime | None


@dataclass(frozen=True)
class AnomalyView:
    anomaly_id: str
    kind: str
    status: str
    enrollment_id: str
    trainee_id: str
    class_id: str
    institution_id: str
    region_code: str
    face_check_ids: list[str]
    raised_at: datetime
    reviewed_by: str
    reviewed_at: datetime | None
    review_comment: str


T = TypeVar("T")


@dataclass(frozen=True)
class ListPage(Generic[T]):
    items: list[T] = field(default_factory=list)
    next_page_token: str = ""
