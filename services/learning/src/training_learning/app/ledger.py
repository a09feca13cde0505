"""Writing the hour ledger inside a unit of work: rejected runs, pending runs, crediting a closed
bracket (with the lesson and daily caps), progress counters, and the events that follow
(hours.credited, course.finished, class.completed, exactly once each where it matters)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from training.learning.v1 import learning_events_pb2 as events
from training_events import Event
from training_learning.chains import CHAINS, LEDGER
from training_learning.domain.reasons import Reason
from training_learning.domain.session import Outcome, Run, Verdict, allocate
from training_learning.persistence.state import SessionFacts, run_from_json, run_to_json
from training_learning.persistence.tables import (
    class_lessons,
    class_topics,
    classes,
    course_finishes,
    daily_credits,
    enrollments,
    ledger_entries,
    lesson_progress,
    pending_segments,
    topic_progress,
)
from training_records import append
from training_rulebook import Rulebook, china_date
from training_runtime.protoconv import kind_to_proto, qualification_to_proto, timestamp
from training_runtime.vocabulary import QualificationType, TrainingKind

HOURS_CREDITED = "training.learning.hours.credited.v1"
CLASS_COMPLETED = "training.learning.class.completed.v1"
COURSE_FINISHED = "training.learning.course.finished.v1"

Emit = Callable[[Event], Awaitable[None]]


def study_entry(
    facts: SessionFacts,
    run: Run,
    *,
    kind: str,
    credited: float,
    interval: float,
    reason: Reason,
    now: datetime,
    closing_check: str | None = None,
    before: float | None = None,
    after: float | None = None,
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "kind": kind,
        "enrollment_id": facts.enrollment_id,
        "trainee_id": facts.trainee_id,
        "lesson_id": facts.lesson_id,
        "topic_id": facts.topic_id,
        "course_id": facts.course_id,
        "credited_seconds": credited,
        "interval_seconds": interval,
        "interval_start": run.started_at,
        "interval_end": run.ended_at,
        "position_from": run.position_from,
        "position_to": run.position_to,
        "reason": reason.value,
        "rulebook_version": facts.rulebook_version,
        "session_id": facts.session_id,
        "device_id": facts.device_id,
        "first_seq": run.first_seq,
        "last_seq": run.last_seq,
        "opening_face_check_id": facts.opening_face_check_id,
        "closing_face_check_id": closing_check,
        "before_seconds": before,
        "after_seconds": after,
        "recorded_at": now,
    }


async def topic_totals(
    session: AsyncSession | AsyncConnection, enrollment_id: uuid.UUID, class_id: uuid.UUID
) -> list[Any]:
    """Each topic of the class with its requirement and the enrollment's credited seconds."""
    return list(
        (
            await session.execute(
                select(
                    class_topics.c.topic_id,
                    class_topics.c.code,
                    class_topics.c.required_hours,
                    func.coalesce(topic_progress.c.credited_seconds, 0.0).label("credited_seconds"),
                )
                .select_from(
                    class_topics.outerjoin(
                        topic_progress,
                        and_(
                            topic_progress.c.topic_id == class_topics.c.topic_id,
                            topic_progress.c.enrollment_id == enrollment_id,
                        ),
                    )
                )
                .where(class_topics.c.class_id == class_id)
                .order_by(class_topics.c.code)
            )
        ).all()
    )


@dataclass
class Ledger:
    """The ledger operations of one transaction."""

    session: AsyncSession | AsyncConnection
    now: datetime
    emit: Emit
    # Link entries at `link_pending()` instead of as they are written: the heartbeat batch does, so
    # the ledger chain's lock is taken last and held for the commit only (docs/records.md).
    defer_links: bool = False
    _unlinked: list[uuid.UUID] = field(default_factory=list)

    async def record(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert ledger entries and link them to the ledger's record chain (docs/records.md)."""
        if not rows:
            return
        await self.session.execute(ledger_entries.insert(), list(rows))
        self._unlinked.extend(r["id"] for r in rows)
        if not self.defer_links:
            await self.link_pending()

    async def link_pending(self) -> None:
        """Append the entries written so far to the ledger chain; a deferring caller's last step."""
        ids, self._unlinked = self._unlinked, []
        await append(self.session, CHAINS, LEDGER, ids, now=self.now)  # type: ignore[arg-type]

    async def reject(self, facts: SessionFacts, runs: Sequence[Run], reason: Reason | None = None) -> None:
        """REJECT entries: each run with its own reason, or all with `reason` (a failed bracket)."""
        rows = [
            study_entry(
                facts, r, kind="REJECT", credited=0.0, interval=r.wall_seconds, reason=reason or r.reason, now=self.now
            )
            for r in runs
        ]
        await self.record(rows)

    async def hold(self, facts: SessionFacts, runs: Sequence[Run]) -> None:
        rows = [
            {
                "id": uuid.uuid4(),
                "session_id": facts.session_id,
                "run": run_to_json(r),
                "opening_face_check_id": facts.opening_face_check_id,
            }
            for r in runs
        ]
        if rows:
            await self.session.execute(pending_segments.insert(), rows)

    async def take_pending(self, facts: SessionFacts) -> list[Run]:
        rows = (
            await self.session.execute(
                delete(pending_segments)
                .where(pending_segments.c.session_id == facts.session_id)
                .returning(pending_segments.c.run)
            )
        ).scalars()
        runs = [r for r in (run_from_json(raw) for raw in rows) if r is not None]
        return sorted(runs, key=lambda r: r.first_seq)

    async def apply(
        self, facts: SessionFacts, outcome: Outcome, rules: Rulebook, *, closing_check: str | None = None
    ) -> float:
        """Store what an outcome closed: rejected runs, pending runs, and the bracket's fate.
        Returns the seconds credited."""
        pending = [r for r in outcome.closed if r.verdict is Verdict.PENDING]
        await self.reject(facts, [r for r in outcome.closed if r.verdict is Verdict.REJECTED])
        if outcome.credit_pending:
            return await self.credit(
                facts, [*await self.take_pending(facts), *pending], rules, closing_check=closing_check
            )
        if outcome.reject_pending is not None:
            await self.reject(facts, [*await self.take_pending(facts), *pending], outcome.reject_pending)
            return 0.0
        await self.hold(facts, pending)
        return 0.0

    async def credit(
        self, facts: SessionFacts, runs: Sequence[Run], rules: Rulebook, *, closing_check: str | None
    ) -> float:
        """Credit a closed bracket's runs within the lesson's and the day's room."""
        if not runs:
            return 0.0
        lesson = await self.lesson_progress(facts.enrollment_id, facts.lesson_id, lock=True)
        duration = await self.session.scalar(
            select(class_lessons.c.duration_seconds)
            .select_from(class_lessons.join(enrollments, enrollments.c.class_id == class_lessons.c.class_id))
            .where(enrollments.c.id == facts.enrollment_id, class_lessons.c.lesson_id == facts.lesson_id)
        )
        credited_before = lesson.credited_seconds
        credited = 0.0
        day = china_date(self.now)
        daily_room = None
        if rules.daily_cap.enabled and rules.daily_cap.hours is not None:
            used = await self.session.scalar(
                select(daily_credits.c.credited_seconds)
                .where(daily_credits.c.trainee_id == facts.trainee_id, daily_credits.c.day == day)
                .with_for_update()
            )
            daily_room = rules.hours_to_seconds(rules.daily_cap.hours) - float(used or 0.0)
        rows: list[dict[str, Any]] = []
        credit_rows: list[dict[str, Any]] = []
        furthest = lesson.furthest_position
        for run in runs:
            total = credited_before + credited
            share = allocate(
                run.seconds,
                lesson_room=float(duration or 0) - total,
                daily_room=None if daily_room is None else daily_room - credited,
            )
            if share.credited > 0:
                row = study_entry(
                    facts,
                    run,
                    kind="CREDIT",
                    credited=share.credited,
                    interval=run.wall_seconds,
                    reason=Reason.VERIFIED,
                    now=self.now,
                    closing_check=closing_check,
                    before=total,
                    after=total + share.credited,
                )
                rows.append(row)
                credit_rows.append(row)
                credited += share.credited
                furthest = max(furthest, run.position_to)
            if share.refused_reason is not None:
                rows.append(
                    study_entry(
                        facts,
                        run,
                        kind="REJECT",
                        credited=0.0,
                        interval=share.refused,
                        reason=share.refused_reason,
                        now=self.now,
                        closing_check=closing_check,
                    )
                )
        await self.record(rows)
        if credited <= 0:
            return 0.0
        await self.add_to_progress(
            facts.enrollment_id, facts.lesson_id, facts.topic_id, credited, furthest=min(furthest, float(duration or 0))
        )
        if daily_room is not None:
            await self.session.execute(
                insert(daily_credits)
                .values(trainee_id=facts.trainee_id, day=day, credited_seconds=credited)
                .on_conflict_do_update(
                    index_elements=["trainee_id", "day"],
                    set_={"credited_seconds": daily_credits.c.credited_seconds + credited},
                )
            )
        for row in credit_rows:
            await self.emit_credited(row, rules, kind="CREDIT")
        await self.after_credit(facts.enrollment_id, facts.lesson_id, facts.course_id, rules)
        return credited

    async def lesson_progress(self, enrollment_id: uuid.UUID, lesson_id: uuid.UUID, *, lock: bool) -> Any:
        await self.session.execute(
            insert(lesson_progress)
            .values(enrollment_id=enrollment_id, lesson_id=lesson_id, credited_seconds=0.0, furthest_position=0.0)
            .on_conflict_do_nothing()
        )
        query = select(lesson_progress).where(
            lesson_progress.c.enrollment_id == enrollment_id, lesson_progress.c.lesson_id == lesson_id
        )
        return (await self.session.execute(query.with_for_update() if lock else query)).one()

    async def add_to_progress(
        self,
        enrollment_id: uuid.UUID,
        lesson_id: uuid.UUID,
        topic_id: uuid.UUID,
        seconds: float,
        *,
        furthest: float | None = None,
    ) -> None:
        values: dict[str, Any] = {"credited_seconds": lesson_progress.c.credited_seconds + seconds}
        if furthest is not None:
            values["furthest_position"] = func.greatest(lesson_progress.c.furthest_position, furthest)
        await self.session.execute(
            update(lesson_progress)
            .where(lesson_progress.c.enrollment_id == enrollment_id, lesson_progress.c.lesson_id == lesson_id)
            .values(**values)
        )
        await self.session.execute(
            insert(topic_progress)
            .values(enrollment_id=enrollment_id, topic_id=topic_id, credited_seconds=seconds)
            .on_conflict_do_update(
                index_elements=["enrollment_id", "topic_id"],
                set_={"credited_seconds": topic_progress.c.credited_seconds + seconds},
            )
        )

    async def enrollment(self, enrollment_id: uuid.UUID) -> Any:
        return (
            await self.session.execute(
                select(
                    enrollments,
                    classes.c.qualification_type,
                    classes.c.operation_type,
                    classes.c.training_kind,
                    classes.c.rulebook_version,
                )
                .select_from(enrollments.join(classes, classes.c.id == enrollments.c.class_id))
                .where(enrollments.c.id == enrollment_id)
            )
        ).one()

    async def emit_credited(self, row: dict[str, Any], rules: Rulebook, *, kind: str) -> None:
        e = await self.enrollment(row["enrollment_id"])
        await self.emit(
            Event(
                subject=HOURS_CREDITED,
                key=str(row["enrollment_id"]),
                occurred_at=self.now,
                message=events.HoursCredited(
                    entry_id=str(row["id"]),
                    enrollment_id=str(row["enrollment_id"]),
                    class_id=str(e.class_id),
                    trainee_id=str(row["trainee_id"]),
                    institution_id=str(e.institution_id),
                    region_code=e.region_code,
                    course_id=str(row["course_id"]),
                    lesson_id=str(row["lesson_id"]),
                    topic_id=str(row["topic_id"]),
                    credited_seconds=row["credited_seconds"],
                    credited_hours=rules.seconds_to_hours(row["credited_seconds"]),
                    kind=kind,
                    rulebook_version=row["rulebook_version"],
                    credited_at=timestamp(self.now),
                ),
            )
        )

    async def after_credit(
        self, enrollment_id: uuid.UUID, lesson_id: uuid.UUID, course_id: uuid.UUID, rules: Rulebook
    ) -> None:
        """Mark the lesson finished, the course finished, and the class complete, each once."""
        e = await self.enrollment(enrollment_id)
        lesson = await self.lesson_progress(enrollment_id, lesson_id, lock=False)
        duration = await self.session.scalar(
            select(class_lessons.c.duration_seconds).where(
                class_lessons.c.class_id == e.class_id, class_lessons.c.lesson_id == lesson_id
            )
        )
        reached_end = lesson.furthest_position >= float(duration or 0) - rules.heartbeats.interval_seconds
        if lesson.finished_at is None and reached_end:
            await self.session.execute(
                update(lesson_progress)
                .where(lesson_progress.c.enrollment_id == enrollment_id, lesson_progress.c.lesson_id == lesson_id)
                .values(finished_at=self.now)
            )
            await self.maybe_finish_course(e, course_id)
        await self.maybe_complete(e, rules)

    async def maybe_finish_course(self, e: Any, course_id: uuid.UUID) -> None:
        unfinished = await self.session.scalar(
            select(func.count())
            .select_from(
                class_lessons.outerjoin(
                    lesson_progress,
                    and_(
                        lesson_progress.c.lesson_id == class_lessons.c.lesson_id,
                        lesson_progress.c.enrollment_id == e.id,
                    ),
                )
            )
            .where(
                class_lessons.c.class_id == e.class_id,
                class_lessons.c.course_id == course_id,
                lesson_progress.c.finished_at.is_(None),
            )
        )
        if unfinished:
            return
        inserted = await self.session.scalar(
            insert(course_finishes)
            .values(enrollment_id=e.id, course_id=course_id, finished_at=self.now)
            .on_conflict_do_nothing()
            .returning(course_finishes.c.course_id)
        )
        if inserted is not None:
            await self.emit(
                Event(
                    subject=COURSE_FINISHED,
                    key=str(e.id),
                    occurred_at=self.now,
                    message=events.CourseFinished(
                        enrollment_id=str(e.id),
                        class_id=str(e.class_id),
                        trainee_id=str(e.trainee_id),
                        institution_id=str(e.institution_id),
                        course_id=str(course_id),
                        finished_at=timestamp(self.now),
                    ),
                )
            )

    async def topic_totals(self, enrollment_id: uuid.UUID, class_id: uuid.UUID) -> list[Any]:
        return await topic_totals(self.session, enrollment_id, class_id)

    async def maybe_complete(self, e: Any, rules: Rulebook) -> None:
        """Fire class.completed the first time every topic's requirement is met (never twice)."""
        if e.completed_at is not None or e.frozen:
            return
        topics = await self.topic_totals(e.id, e.class_id)
        if not topics or not all(rules.topic_complete(t.credited_seconds, t.required_hours) for t in topics):
            return
        marked = await self.session.scalar(
            update(enrollments)
            .where(enrollments.c.id == e.id, enrollments.c.completed_at.is_(None))
            .values(completed_at=self.now)
            .returning(enrollments.c.id)
        )
        if marked is None:
            return
        total = sum(t.credited_seconds for t in topics)
        await self.emit(
            Event(
                subject=CLASS_COMPLETED,
                key=str(e.id),
                occurred_at=self.now,
                message=events.ClassCompleted(
                    enrollment_id=str(e.id),
                    class_id=str(e.class_id),
                    trainee_id=str(e.trainee_id),
                    institution_id=str(e.institution_id),
                    region_code=e.region_code,
                    qualification_type=qualification_to_proto(QualificationType(e.qualification_type)),
                    operation_type=e.operation_type,
                    training_kind=kind_to_proto(TrainingKind(e.training_kind)),
                    topics=[
                        events.TopicHours(
                            topic_id=str(t.topic_id),
                            required_hours=t.required_hours,
                            credited_hours=rules.seconds_to_hours(t.credited_seconds),
                            credited_seconds=t.credited_seconds,
                        )
                        for t in topics
                    ],
                    total_credited_hours=rules.seconds_to_hours(total),
                    rulebook_version=rules.version,
                    completed_at=timestamp(self.now),
                ),
            )
        )
