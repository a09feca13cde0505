"""Enrollments learnt from courses' events: who is in which institution's classes, and how long the
trainee's records are kept for it (docs/records.md, "Retention")."""

from __future__ import annotations

import uuid

from sqlalchemy.dialects.postgresql import insert

from training.courses.v1 import courses_events_pb2 as courses_events
from training_events import ConsumerSpec, EventContext, PermanentEventError, Subscription
from training_identity.persistence.tables import trainee_enrollments
from training_identity.retention.dating import extend_for_enrollment
from training_runtime.protoconv import from_timestamp, qualification_from_proto

ENROLLMENT_CREATED = "training.courses.enrollment.created.v1"


def enrollment_recorder(default_years: int):  # type: ignore[no-untyped-def]
    async def record_enrollment(ctx: EventContext, event: courses_events.EnrollmentCreated) -> None:
        try:
            values = {
                "enrollment_id": uuid.UUID(event.enrollment_id),
                "user_id": uuid.UUID(event.trainee_id),
                "institution_id": uuid.UUID(event.institution_id),
            }
        except ValueError as exc:
            raise PermanentEventError(f"enrollment event with a malformed id: {exc}") from exc
        qualification = qualification_from_proto(event.qualification_type)
        await ctx.session.execute(
            insert(trainee_enrollments)
            .values(
                **values,
                region_code=event.region_code,
                enrolled_at=from_timestamp(event.enrolled_at) if event.HasField("enrolled_at") else ctx.occurred_at,
                qualification_type=qualification.value if qualification else None,
                # 0: an event from before courses published retention (read as the default).
                retention_years=event.retention_years or None,
            )
            .on_conflict_do_nothing()
        )
        await extend_for_enrollment(ctx.session, values["user_id"], default_years)

    return record_enrollment


def enrollments_consumer(max_deliver: int, default_years: int) -> ConsumerSpec:
    return ConsumerSpec(
        durable="identity-enrollments",
        stream="TRAINING_COURSES",
        subscriptions=[
            Subscription(ENROLLMENT_CREATED, courses_events.EnrollmentCreated, enrollment_recorder(default_years))
        ],
        max_deliver=max_deliver,
    )
