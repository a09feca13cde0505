"""What learning keeps of courses' facts: classes (topics, lessons, rulebook version), enrollments
and withdrawn courses. Handlers run in the consumer's transaction with the inbox row, so a
redelivered event changes nothing twice."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from training.courses.v1 import courses_events_pb2 as cev
from training_events import ConsumerSpec, EventContext, PermanentEventError, Subscription
from training_learning.app.ledger import Ledger
from training_learning.app.sessions import end_session
from training_learning.domain.reasons import Reason
from training_learning.persistence.tables import (
    class_lessons,
    class_topics,
    classes,
    enrollments,
    study_sessions,
    withdrawn_courses,
)
from training_rulebook import RulebookSet
from training_runtime.clock import Clock
from training_runtime.protoconv import from_timestamp, kind_from_proto, qualification_from_proto
from training_runtime.vocabulary import QualificationType

CLASS_OPENED = "training.courses.class.opened.v1"
ENROLLMENT_CREATED = "training.courses.enrollment.created.v1"
COURSE_WITHDRAWN = "training.courses.course.withdrawn.v1"


class ClassNotYetKnown(Exception):
    """An enrollment arrived before its class; retried until the class.opened event is processed."""


def consumer(rulebooks: RulebookSet, clock: Clock) -> ConsumerSpec:
    async def class_opened(ctx: EventContext, m: cev.ClassOpened) -> None:
        if m.rulebook_version not in rulebooks:
            raise PermanentEventError(
                f"class {m.class_id} is governed by rulebook version {m.rulebook_version!r}, which learning's "
                f"rulebook {rulebooks.name!r} does not hold; configure both services with the same rulebook"
            )
        qualification = qualification_from_proto(m.qualification_type)
        kind = kind_from_proto(m.training_kind)
        if qualification is None or kind is None:
            raise PermanentEventError(f"class {m.class_id} names no qualification type or training kind")
        if not m.topics or not m.lessons:
            raise PermanentEventError(f"class {m.class_id} has no topics or no lessons; nothing could be studied")
        try:
            class_id = uuid.UUID(m.class_id)
        except ValueError as exc:
            raise PermanentEventError(f"class.opened with a malformed class id: {exc}") from exc
        inserted = await ctx.session.scalar(
            insert(classes)
            .values(
                id=class_id,
                institution_id=uuid.UUID(m.institution_id),
                region_code=m.region_code,
                syllabus_id=uuid.UUID(m.syllabus_id),
                qualification_type=qualification.value,
                operation_type=m.operation_type,
                training_kind=kind.value,
                rulebook_version=m.rulebook_version,
                opened_at=from_timestamp(m.opened_at),
            )
            .on_conflict_do_nothing()
            .returning(classes.c.id)
        )
        if inserted is None:
            return
        await ctx.session.execute(
            class_topics.insert(),
            [
                {
                    "class_id": class_id,
                    "topic_id": uuid.UUID(t.topic_id),
                    "code": t.code,
                    "required_hours": t.required_hours,
                }
                for t in m.topics
            ],
        )
        await ctx.session.execute(
            class_lessons.insert(),
            [
                {
                    "class_id": class_id,
                    "lesson_id": uuid.UUID(lesson.lesson_id),
                    "course_id": uuid.UUID(lesson.course_id),
                    "topic_id": uuid.UUID(lesson.topic_id),
                    "duration_seconds": lesson.duration_seconds,
                    "position": lesson.position,
                }
                for lesson in m.lessons
            ],
        )

    async def enrollment_created(ctx: EventContext, m: cev.EnrollmentCreated) -> None:
        class_id = uuid.UUID(m.class_id)
        known = (
            await ctx.session.execute(
                select(classes.c.rulebook_version, classes.c.qualification_type).where(classes.c.id == class_id)
            )
        ).first()
        if known is None:
            raise ClassNotYetKnown(f"class {m.class_id} of enrollment {m.enrollment_id} is not known yet")
        # Courses announces the years (docs/records.md, "Retention"); an older event did not, and the
        # class's rulebook version says the same.
        years = (
            m.retention_years
            or rulebooks.version(known.rulebook_version).retention_years[QualificationType(known.qualification_type)]
        )
        await ctx.session.execute(
            insert(enrollments)
            .values(
                id=uuid.UUID(m.enrollment_id),
                class_id=class_id,
                trainee_id=uuid.UUID(m.trainee_id),
                institution_id=uuid.UUID(m.institution_id),
                region_code=m.region_code,
                employer_credit_code=m.employer_credit_code,
                frozen=False,
                enrolled_at=from_timestamp(m.enrolled_at),
                retention_years=years,
            )
            .on_conflict_do_nothing()
        )

    async def course_withdrawn(ctx: EventContext, m: cev.CourseWithdrawn) -> None:
        course_id = uuid.UUID(m.course_id)
        now = clock.now()
        await ctx.session.execute(
            insert(withdrawn_courses)
            .values(course_id=course_id, reason=m.reason, withdrawn_at=from_timestamp(m.withdrawn_at))
            .on_conflict_do_nothing()
        )
        ledger = Ledger(ctx.session, now, ctx.emit)
        live = (
            await ctx.session.execute(
                select(study_sessions)
                .where(study_sessions.c.course_id == course_id, study_sessions.c.status != "ended")
                .order_by(study_sessions.c.id)
                .with_for_update()
            )
        ).all()
        for row in live:
            await end_session(
                ledger, row, rulebooks, reason=Reason.COURSE_WITHDRAWN, pending_reason=Reason.COURSE_WITHDRAWN
            )

    return ConsumerSpec(
        durable="learning-courses",
        stream="TRAINING_COURSES",
        subscriptions=[
            Subscription(CLASS_OPENED, cev.ClassOpened, class_opened),
            Subscription(ENROLLMENT_CREATED, cev.EnrollmentCreated, enrollment_created),
            Subscription(COURSE_WITHDRAWN, cev.CourseWithdrawn, course_withdrawn),
        ],
    )
