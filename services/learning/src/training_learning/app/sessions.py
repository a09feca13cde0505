"""Operations on stored sessions that several use cases share: ending one (hand-over, abandonment,
freeze, withdrawal), recording face checks, and raising proxy-learning anomalies."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, update

from training.learning.v1 import learning_events_pb2 as events
from training_events import Event
from training_learning.app.ledger import Ledger
from training_learning.domain import session as rules_of_session
from training_learning.domain.reasons import Reason
from training_learning.persistence.state import SessionFacts, state_from_row, state_values
from training_learning.persistence.tables import (
    active_sessions,
    anomalies,
    enrollments,
    face_checks,
    study_sessions,
)
from training_rulebook import Rulebook, RulebookSet
from training_runtime.faces import FaceResult
from training_runtime.protoconv import timestamp

ANOMALY_RAISED = "training.learning.anomaly.raised.v1"
PROXY_LEARNING = "PROXY_LEARNING"


async def lock_session(ledger: Ledger, session_id: uuid.UUID) -> Any | None:
    return (
        await ledger.session.execute(select(study_sessions).where(study_sessions.c.id == session_id).with_for_update())
    ).one_or_none()


async def end_session(
    ledger: Ledger,
    row: Any,
    rulebooks: RulebookSet,
    *,
    reason: Reason,
    pending_reason: Reason,
    credit: bool = False,
    closing_check: str | None = None,
) -> Any:
    """End a locked, live session; its pending time is credited or rejected. Returns the new state."""
    rules = rulebooks.version(row.rulebook_version)
    facts = SessionFacts.of(row)
    outcome = rules_of_session.end(state_from_row(row), reason, credit=credit, pending_reason=pending_reason)
    await ledger.apply(facts, outcome, rules, closing_check=closing_check)
    await ledger.session.execute(
        update(study_sessions)
        .where(study_sessions.c.id == row.id)
        .values(**state_values(outcome.state), ended_at=ledger.now, last_activity_at=ledger.now)
    )
    await ledger.session.execute(
        delete(active_sessions).where(
            active_sessions.c.trainee_id == row.trainee_id, active_sessions.c.session_id == row.id
        )
    )
    return outcome.state


async def save_state(ledger: Ledger, session_id: uuid.UUID, state: rules_of_session.SessionState) -> None:
    await ledger.session.execute(
        update(study_sessions)
        .where(study_sessions.c.id == session_id)
        .values(**state_values(state), last_activity_at=ledger.now)
    )


async def record_face_check(
    ledger: Ledger,
    result: FaceResult,
    *,
    purpose: str,
    enrollment_id: uuid.UUID,
    trainee_id: uuid.UUID,
    session_id: uuid.UUID | None,
) -> None:
    await ledger.session.execute(
        face_checks.insert().values(
            id=result.face_check_id,
            session_id=session_id,
            enrollment_id=enrollment_id,
            trainee_id=trainee_id,
            purpose=purpose,
            outcome=result.outcome,
            passed=result.passed,
            distance=result.distance,
            checked_at=ledger.now,
        )
    )


async def count_failure(
    ledger: Ledger,
    rulebooks: RulebookSet,
    rules: Rulebook,
    *,
    enrollment_id: uuid.UUID,
    result: FaceResult,
    course_id: uuid.UUID | None,
    lesson_id: uuid.UUID | None,
) -> str | None:
    """After a failed check: raise a proxy-learning anomaly when the rulebook's threshold is reached
    (freezing the enrollment and ending its live session). Returns the new anomaly's id."""
    fc = rules.face_checks
    counted = {o.value for o in fc.anomaly_outcomes}
    if result.outcome not in counted:
        return None
    e = (
        await ledger.session.execute(select(enrollments).where(enrollments.c.id == enrollment_id).with_for_update())
    ).one()
    if e.frozen:
        return None
    since = ledger.now - timedelta(hours=fc.anomaly_window_hours)
    last_review = await ledger.session.scalar(
        select(func.max(anomalies.c.reviewed_at)).where(anomalies.c.enrollment_id == enrollment_id)
    )
    if last_review is not None and last_review > since:
        since = last_review  # failures the institution already reviewed do not count twice
    failures = (
        (
            await ledger.session.execute(
                select(face_checks.c.id)
                .where(
                    face_checks.c.enrollment_id == enrollment_id,
                    face_checks.c.passed.is_(False),
                    face_checks.c.outcome.in_(counted),
                    face_checks.c.checked_at > since,
                )
                .order_by(face_checks.c.checked_at)
            )
        )
        .scalars()
        .all()
    )
    if len(failures) < fc.anomaly_threshold:
        return None
    anomaly_id = uuid.uuid4()
    await ledger.session.execute(
        anomalies.insert().values(
            id=anomaly_id,
            kind=PROXY_LEARNING,
            status="open",
            enrollment_id=enrollment_id,
            trainee_id=e.trainee_id,
            class_id=e.class_id,
            institution_id=e.institution_id,
            region_code=e.region_code,
            course_id=course_id,
            lesson_id=lesson_id,
            face_check_ids=list(failures),
            raised_at=ledger.now,
        )
    )
    await ledger.session.execute(update(enrollments).where(enrollments.c.id == enrollment_id).values(frozen=True))
    live = await ledger.session.scalar(
        select(active_sessions.c.session_id).where(active_sessions.c.trainee_id == e.trainee_id)
    )
    if live is not None:
        row = await lock_session(ledger, live)
        if row is not None and row.enrollment_id == enrollment_id and row.status != "ended":
            await end_session(ledger, row, rulebooks, reason=Reason.HOURS_FROZEN, pending_reason=Reason.HOURS_FROZEN)
    await ledger.emit(
        Event(
            subject=ANOMALY_RAISED,
            key=str(enrollment_id),
            occurred_at=ledger.now,
            message=events.AnomalyRaised(
                anomaly_id=str(anomaly_id),
                kind=PROXY_LEARNING,
                enrollment_id=str(enrollment_id),
                class_id=str(e.class_id),
                trainee_id=str(e.trainee_id),
                institution_id=str(e.institution_id),
                region_code=e.region_code,
                course_id=str(course_id) if course_id else "",
                lesson_id=str(lesson_id) if lesson_id else "",
                face_check_ids=list(failures),
                raised_at=timestamp(ledger.now),
            ),
        )
    )
    return str(anomaly_id)
