"""Enrollments learnt from courses' events: who is in which institution's classes."""

from __future__ import annotations

import uuid

from sqlalchemy.dialects.postgresql import insert

from training.courses.v1 import courses_events_pb2 as courses_events
from training_events import ConsumerSpec, EventContext, PermanentEventError, Subscription
from training_identity.persistence.tables import trainee_enrollments
from training_runtime.protoconv import from_timestamp

ENROLLMENT_CREATED = "training.courses.enrollment.created.v1"


async def record_enrollment(ctx: EventContext, event: courses_events.EnrollmentCreated) -> None:
    try:
        values = {
            "enrollment_id": uuid.UUID(event.enrollment_id),
            "user_id": uuid.UUID(event.trainee_id),
            "institution_id": uuid.UUID(event.institution_id),
        }
    except ValueError as exc:
        raise PermanentEventError(f"enrollment event with a malformed id: {exc}") from exc
    await ctx.session.execute(
        insert(trainee_enrollments)
        .values(
            **values,
            region_code=event.region_code,
            enrolled_at=from_timestamp(event.enrolled_at) if event.HasField("enrolled_at") else ctx.occurred_at,
        )
        .on_conflict_do_nothing()
    )


def enrollments_consumer(max_deliver: int) -> ConsumerSpec:
    return ConsumerSpec(
        durable="identity-enrollments",
        stream="TRAINING_COURSES",
        subscriptions=[Subscription(ENROLLMENT_CREATED, courses_events.EnrollmentCreated, record_enrollment)],
        max_deliver=max_deliver,
    )
