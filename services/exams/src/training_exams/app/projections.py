"""What exams keeps of other contexts' facts: classes and enrollments from courses, class
completion from learning (a final exam may start only after it; an invalidation of hours that
leaves a topic short takes it back, until a later completion). Handlers run in the consumer's
transaction with the inbox row, so a redelivered event changes nothing twice.

The two streams are not ordered with each other: a class.completed event may arrive before the
enrollment.created event it follows. It carries everything an enrollment row needs, so whichever
comes first creates the row and the other completes it.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert

from training.courses.v1 import courses_events_pb2 as cev
from training.learning.v1 import learning_events_pb2 as lev
from training_events import ConsumerSpec, EventContext, PermanentEventError, Subscription
from training_exams.persistence.tables import classes, enrollments
from training_rulebook import RulebookSet
from training_runtime.protoconv import from_timestamp, kind_from_proto, qualification_from_proto

CLASS_OPENED = "training.courses.class.opened.v1"
ENROLLMENT_CREATED = "training.courses.enrollment.created.v1"
CLASS_COMPLETED = "training.learning.class.completed.v1"
HOURS_INVALIDATED = "training.learning.hours.invalidated.v1"


def courses_consumer(rulebooks: RulebookSet) -> ConsumerSpec:
    async def class_opened(ctx: EventContext, m: cev.ClassOpened) -> None:
        if m.rulebook_version not in rulebooks:
            raise PermanentEventError(
                f"class {m.class_id} is governed by rulebook version {m.rulebook_version!r}, which exams' "
                f"rulebook {rulebooks.name!r} does not hold; configure exams with the same rulebook as courses"
            )
        qualification = qualification_from_proto(m.qualification_type)
        kind = kind_from_proto(m.training_kind)
        if qualification is None or kind is None:
            raise PermanentEventError(f"class {m.class_id} names no qualification type or training kind")
        await ctx.session.execute(
            insert(classes)
            .values(
                id=uuid.UUID(m.class_id),
                institution_id=uuid.UUID(m.institution_id),
                region_code=m.region_code,
                qualification_type=qualification.value,
                operation_type=m.operation_type,
                training_kind=kind.value,
                rulebook_version=m.rulebook_version,
                topics={t.code: t.topic_id for t in m.topics},
                opened_at=from_timestamp(m.opened_at),
            )
            .on_conflict_do_nothing()
        )

    async def enrollment_created(ctx: EventContext, m: cev.EnrollmentCreated) -> None:
        statement = insert(enrollments).values(
            id=uuid.UUID(m.enrollment_id),
            class_id=uuid.UUID(m.class_id),
            trainee_id=uuid.UUID(m.trainee_id),
            institution_id=uuid.UUID(m.institution_id),
            region_code=m.region_code,
            employer_credit_code=m.employer_credit_code,
            enrolled_at=from_timestamp(m.enrolled_at),
            # 0: an event from before courses announced retention years (the enrollment stays undated).
            retention_years=m.retention_years or None,
        )
        await ctx.session.execute(
            statement.on_conflict_do_update(
                index_elements=[enrollments.c.id],
                set_={
                    "employer_credit_code": statement.excluded.employer_credit_code,
                    "enrolled_at": statement.excluded.enrolled_at,
                    "retention_years": statement.excluded.retention_years,
                },
            )
        )

    return ConsumerSpec(
        durable="exams-courses",
        stream="TRAINING_COURSES",
        subscriptions=[
            Subscription(CLASS_OPENED, cev.ClassOpened, class_opened),
            Subscription(ENROLLMENT_CREATED, cev.EnrollmentCreated, enrollment_created),
        ],
    )


def learning_consumer() -> ConsumerSpec:
    async def class_completed(ctx: EventContext, m: lev.ClassCompleted) -> None:
        completed_at = from_timestamp(m.completed_at)
        statement = insert(enrollments).values(
            id=uuid.UUID(m.enrollment_id),
            class_id=uuid.UUID(m.class_id),
            trainee_id=uuid.UUID(m.trainee_id),
            institution_id=uuid.UUID(m.institution_id),
            region_code=m.region_code,
            completed_at=completed_at,
        )
        await ctx.session.execute(
            statement.on_conflict_do_update(
                index_elements=[enrollments.c.id],
                set_={"completed_at": func.coalesce(enrollments.c.completed_at, statement.excluded.completed_at)},
            )
        )

    async def hours_invalidated(ctx: EventContext, m: lev.HoursInvalidated) -> None:
        if m.requirements_met:
            return  # what remains still meets every topic: the class stays complete
        await ctx.session.execute(
            update(enrollments).where(enrollments.c.id == uuid.UUID(m.enrollment_id)).values(completed_at=None)
        )

    return ConsumerSpec(
        durable="exams-learning",
        stream="TRAINING_LEARNING",
        subscriptions=[
            Subscription(CLASS_COMPLETED, lev.ClassCompleted, class_completed),
            Subscription(HOURS_INVALIDATED, lev.HoursInvalidated, hours_invalidated),
        ],
    )
