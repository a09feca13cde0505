"""Starting, checking and ending study sessions. Face verification (a call to identity) happens
before the unit of work opens, so no transaction waits on the matcher."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from training_learning.app.ledger import Ledger
from training_learning.app.sessions import (
    count_failure,
    end_session,
    lock_session,
    record_face_check,
    save_state,
)
from training_learning.app.views import SessionView, session_view
from training_learning.domain import session as rules_of_session
from training_learning.domain.reasons import Reason
from training_learning.domain.session import Status
from training_learning.persistence.state import SessionFacts, state_from_row, state_values
from training_learning.persistence.tables import (
    active_sessions,
    class_lessons,
    classes,
    enrollments,
    handovers,
    study_sessions,
    withdrawn_courses,
)
from training_rulebook import RulebookSet
from training_runtime.auth import Principal
from training_runtime.clock import Clock
from training_runtime.db import UnitOfWork
from training_runtime.errors import FailedPrecondition, NotFound, Validator
from training_runtime.faces import FaceResult, FaceVerifier
from training_runtime.paging import parse_uuid

MAX_IMAGE_BYTES = 3 * 1024 * 1024


@dataclass(frozen=True)
class StartResult:
    session: SessionView
    replaced_session_id: str
    face_check_id: str


@dataclass(frozen=True)
class FaceCheckResult:
    face_check_id: str
    passed: bool
    outcome: str
    session: SessionView
    anomaly_id: str


@dataclass(frozen=True)
class EndResult:
    session: SessionView
    face_check_id: str
    passed: bool


def _check_image(check: Validator, image: bytes, *, required: bool) -> None:
    if not image:
        if required:
            check.add("face_image", "is required (a JPEG or PNG camera frame)")
        return
    if len(image) > MAX_IMAGE_BYTES:
        check.add("face_image", f"must be at most {MAX_IMAGE_BYTES} bytes")


def _uuid(check: Validator, value: str, field: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        check.add(field, "must be a UUID" if value else "is required")
        return None


def _face_failure(result: FaceResult, anomaly_id: str | None) -> FailedPrecondition:
    metadata = {"face_check_id": result.face_check_id, "outcome": result.outcome}
    if anomaly_id:
        metadata["anomaly_id"] = anomaly_id
        return FailedPrecondition(
            "HOURS_FROZEN",
            "repeated failed face checks raised a proxy-learning anomaly; "
            "hours are frozen until the institution reviews it",
            metadata=metadata,
        )
    return FailedPrecondition("FACE_CHECK_FAILED", f"the start face check failed ({result.outcome})", metadata=metadata)


class Study:
    def __init__(self, uow: UnitOfWork, clock: Clock, rulebooks: RulebookSet, faces: FaceVerifier) -> None:
        self._uow = uow
        self._clock = clock
        self._rulebooks = rulebooks
        self._faces = faces

    async def _own_session(self, actor: Principal, session_id: str) -> Any:
        sid = parse_uuid(session_id, "session_id")
        async with self._uow.read() as session:
            row = (await session.execute(select(study_sessions).where(study_sessions.c.id == sid))).one_or_none()
        if row is None or str(row.trainee_id) != actor.subject:
            raise NotFound("study session", session_id)
        return row

    async def _view(self, ledger: Ledger, row: Any, state: rules_of_session.SessionState) -> SessionView:
        lesson = await ledger.lesson_progress(row.enrollment_id, row.lesson_id, lock=False)
        rules = self._rulebooks.version(row.rulebook_version)
        ended = ledger.now if state.status is Status.ENDED and row.ended_at is None else None
        return session_view(row, state, rules, ledger.now, lesson_credited=lesson.credited_seconds, ended_at=ended)

    async def start(
        self,
        actor: Principal,
        enrollment_id: str,
        lesson_id: str,
        device_id: str,
        image: bytes,
        client_time: datetime | None,
    ) -> StartResult:
        check = Validator()
        eid = _uuid(check, enrollment_id, "enrollment_id")
        lid = _uuid(check, lesson_id, "lesson_id")
        device_id = device_id.strip()
        if not 8 <= len(device_id) <= 128 or not device_id.isprintable():
            check.add("device_id", "must be 8 to 128 printable characters")
        _check_image(check, image, required=True)
        if client_time is None:
            check.add("client_time", "is required")
        check.check()
        assert eid is not None
        assert lid is not None
        assert client_time is not None

        async with self._uow.read() as session:
            found = (
                await session.execute(
                    select(
                        enrollments,
                        classes.c.rulebook_version,
                        class_lessons.c.course_id,
                        class_lessons.c.topic_id,
                        class_lessons.c.duration_seconds,
                        withdrawn_courses.c.course_id.label("withdrawn"),
                    )
                    .select_from(
                        enrollments.join(classes, classes.c.id == enrollments.c.class_id)
                        .outerjoin(
                            class_lessons,
                            (class_lessons.c.class_id == classes.c.id) & (class_lessons.c.lesson_id == lid),
                        )
                        .outerjoin(withdrawn_courses, withdrawn_courses.c.course_id == class_lessons.c.course_id)
                    )
                    .where(enrollments.c.id == eid)
                )
            ).one_or_none()
        if found is None or str(found.trainee_id) != actor.subject:
            raise NotFound("enrollment", enrollment_id)
        if found.course_id is None:
            raise NotFound("lesson of this enrollment's class", lesson_id)
        if found.withdrawn is not None:
            raise FailedPrecondition(
                "COURSE_WITHDRAWN", "the lesson's course was withdrawn and can no longer be studied"
            )
        if found.frozen:
            raise FailedPrecondition("HOURS_FROZEN", "a proxy-learning anomaly awaits the institution's review")
        rules = self._rulebooks.version(found.rulebook_version)

        session_id = uuid.uuid4()
        result = await self._faces.verify(
            actor.subject, image, purpose="start", context_ref=f"study-session:{session_id}"
        )
        async with self._uow.begin() as tx:
            ledger = Ledger(tx.session, tx.now(), tx.emit)
            now = ledger.now
            if not result.passed:
                await record_face_check(
                    ledger, result, purpose="start", enrollment_id=eid, trainee_id=found.trainee_id, session_id=None
                )
                anomaly = await count_failure(
                    ledger,
                    self._rulebooks,
                    rules,
                    enrollment_id=eid,
                    result=result,
                    course_id=found.course_id,
                    lesson_id=lid,
                )
            else:
                anomaly = None
                replaced = await self._hand_over(ledger, found.trainee_id, session_id, device_id)
                lesson = await ledger.lesson_progress(eid, lid, lock=True)
                state = rules_of_session.start(
                    lesson_duration=found.duration_seconds,
                    furthest_position=lesson.furthest_position,
                    client_offset_seconds=(now - client_time).total_seconds(),
                    seed=secrets.token_hex(8),
                    now=now,
                    rules=rules,
                )
                await tx.session.execute(
                    study_sessions.insert().values(
                        id=session_id,
                        enrollment_id=eid,
                        trainee_id=found.trainee_id,
                        lesson_id=lid,
                        course_id=found.course_id,
                        topic_id=found.topic_id,
                        device_id=device_id,
                        rulebook_version=rules.version,
                        started_at=now,
                        last_activity_at=now,
                        opening_face_check_id=result.face_check_id,
                        **state_values(state),
                    )
                )
                await record_face_check(
                    ledger,
                    result,
                    purpose="start",
                    enrollment_id=eid,
                    trainee_id=found.trainee_id,
                    session_id=session_id,
                )
                row = (await tx.session.execute(select(study_sessions).where(study_sessions.c.id == session_id))).one()
                view = await self._view(ledger, row, state)
        if not result.passed:
            raise _face_failure(result, anomaly)
        return StartResult(session=view, replaced_session_id=replaced, face_check_id=result.face_check_id)

    async def _hand_over(self, ledger: Ledger, trainee_id: uuid.UUID, new_session: uuid.UUID, device_id: str) -> str:
        """Make `new_session` the trainee's only live session, ending (and recording) the previous one."""
        await ledger.session.execute(
            insert(active_sessions).values(trainee_id=trainee_id, session_id=new_session).on_conflict_do_nothing()
        )
        previous = await ledger.session.scalar(
            select(active_sessions.c.session_id).where(active_sessions.c.trainee_id == trainee_id).with_for_update()
        )
        replaced = ""
        if previous is not None and previous != new_session:
            row = await lock_session(ledger, previous)
            if row is not None and row.status != Status.ENDED.value:
                other_device = row.device_id != device_id
                reason = Reason.SESSION_HANDED_OVER if other_device else Reason.SESSION_REPLACED
                await end_session(ledger, row, self._rulebooks, reason=reason, pending_reason=reason)
                await ledger.session.execute(
                    handovers.insert().values(
                        id=uuid.uuid4(),
                        trainee_id=trainee_id,
                        from_session_id=row.id,
                        to_session_id=new_session,
                        from_device_id=row.device_id,
                        to_device_id=device_id,
                        handed_over_at=ledger.now,
                    )
                )
                replaced = str(row.id)
        await ledger.session.execute(
            active_sessions.update().where(active_sessions.c.trainee_id == trainee_id).values(session_id=new_session)
        )
        return replaced

    async def submit_face_check(self, actor: Principal, session_id: str, image: bytes) -> FaceCheckResult:
        check = Validator()
        _check_image(check, image, required=True)
        check.check()
        row = await self._own_session(actor, session_id)
        if row.status == Status.ENDED.value:
            raise FailedPrecondition("SESSION_ENDED", f"the study session ended ({row.status_reason})")
        purpose = "random" if row.status == Status.ACTIVE.value else "start"
        result = await self._faces.verify(actor.subject, image, purpose=purpose, context_ref=f"study-session:{row.id}")
        rules = self._rulebooks.version(row.rulebook_version)
        async with self._uow.begin() as tx:
            ledger = Ledger(tx.session, tx.now(), tx.emit)
            await record_face_check(
                ledger,
                result,
                purpose=purpose,
                enrollment_id=row.enrollment_id,
                trainee_id=row.trainee_id,
                session_id=row.id,
            )
            row = await lock_session(ledger, row.id)
            state = state_from_row(row)
            anomaly = None
            if state.status is not Status.ENDED:
                if result.passed:
                    due = rules_of_session.face_check_due(state, ledger.now)
                    outcome = rules_of_session.face_check_passed(
                        state, rules, now=ledger.now, random_check=due and state.status is Status.ACTIVE
                    )
                    await ledger.apply(SessionFacts.of(row), outcome, rules, closing_check=result.face_check_id)
                    await save_state(ledger, row.id, outcome.state)
                    await tx.session.execute(
                        study_sessions.update()
                        .where(study_sessions.c.id == row.id)
                        .values(opening_face_check_id=result.face_check_id)
                    )
                else:
                    outcome = rules_of_session.face_check_failed(state)
                    await ledger.apply(SessionFacts.of(row), outcome, rules)
                    await save_state(ledger, row.id, outcome.state)
                    anomaly = await count_failure(
                        ledger,
                        self._rulebooks,
                        rules,
                        enrollment_id=row.enrollment_id,
                        result=result,
                        course_id=row.course_id,
                        lesson_id=row.lesson_id,
                    )
            row = (await tx.session.execute(select(study_sessions).where(study_sessions.c.id == row.id))).one()
            view = await self._view(ledger, row, state_from_row(row))
        return FaceCheckResult(
            face_check_id=result.face_check_id,
            passed=result.passed,
            outcome=result.outcome,
            session=view,
            anomaly_id=anomaly or "",
        )

    async def end(self, actor: Principal, session_id: str, image: bytes) -> EndResult:
        check = Validator()
        _check_image(check, image, required=False)
        check.check()
        row = await self._own_session(actor, session_id)
        result = None
        if image and row.status != Status.ENDED.value:
            result = await self._faces.verify(
                actor.subject, image, purpose="end", context_ref=f"study-session:{row.id}"
            )
        rules = self._rulebooks.version(row.rulebook_version)
        async with self._uow.begin() as tx:
            ledger = Ledger(tx.session, tx.now(), tx.emit)
            if result is not None:
                await record_face_check(
                    ledger,
                    result,
                    purpose="end",
                    enrollment_id=row.enrollment_id,
                    trainee_id=row.trainee_id,
                    session_id=row.id,
                )
            row = await lock_session(ledger, row.id)
            if row.status != Status.ENDED.value:
                passed = result is not None and result.passed
                pending_reason = Reason.NO_CLOSING_FACE_CHECK if result is None else Reason.FACE_CHECK_FAILED
                await end_session(
                    ledger,
                    row,
                    self._rulebooks,
                    reason=Reason.ENDED_BY_TRAINEE,
                    pending_reason=pending_reason,
                    credit=passed,
                    closing_check=result.face_check_id if passed and result else None,
                )
                if result is not None and not result.passed:
                    await count_failure(
                        ledger,
                        self._rulebooks,
                        rules,
                        enrollment_id=row.enrollment_id,
                        result=result,
                        course_id=row.course_id,
                        lesson_id=row.lesson_id,
                    )
            row = (await tx.session.execute(select(study_sessions).where(study_sessions.c.id == row.id))).one()
            view = await self._view(ledger, row, state_from_row(row))
        return EndResult(
            session=view,
            face_check_id=result.face_check_id if result else "",
            passed=bool(result and result.passed),
        )
