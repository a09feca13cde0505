"""What courses keeps of other contexts' facts: institutions' status and scope (identity) and the
learning figures behind quality evaluation (learning). Handlers run in the consumer's transaction
with its inbox row, so a redelivered event changes nothing twice."""

from __future__ import annotations

import uuid

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert

from training.identity.v1 import identity_events_pb2 as iev
from training.learning.v1 import learning_events_pb2 as lev
from training_courses.persistence.tables import course_finishes, credited_hours, institutions, learning_anomalies
from training_events import ConsumerSpec, EventContext, Subscription
from training_runtime.protoconv import from_timestamp, qualification_from_proto


class InstitutionNotYetKnown(Exception):
    """A status change arrived before the registration; retried until it is processed."""


def identity_consumer() -> ConsumerSpec:
    async def registered(ctx: EventContext, m: iev.InstitutionRegistered) -> None:
        types = [q.value for q in (qualification_from_proto(v) for v in m.qualification_types) if q is not None]
        await ctx.session.execute(
            insert(institutions)
            .values(
                id=uuid.UUID(m.institution_id),
                region_code=m.region_code,
                qualification_types=types,
                operation_types=list(m.operation_types),
                status="active",
                status_changed_at=from_timestamp(m.registered_at),
            )
            .on_conflict_do_nothing()
        )

    async def change(ctx: EventContext, institution_id: str, status: str, at: object) -> None:
        moment = from_timestamp(at)  # type: ignore[arg-type]
        changed = await ctx.session.scalar(
            update(institutions)
            .where(institutions.c.id == uuid.UUID(institution_id), institutions.c.status_changed_at <= moment)
            .values(status=status, status_changed_at=moment)
            .returning(institutions.c.id)
        )
        if changed is None and await ctx.session.get(institutions, uuid.UUID(institution_id)) is None:
            raise InstitutionNotYetKnown(f"institution {institution_id} is not registered here yet")

    async def suspended(ctx: EventContext, m: iev.InstitutionSuspended) -> None:
        await change(ctx, m.institution_id, "suspended", m.suspended_at)

    async def reinstated(ctx: EventContext, m: iev.InstitutionReinstated) -> None:
        await change(ctx, m.institution_id, "active", m.reinstated_at)

    return ConsumerSpec(
        durable="courses-institutions",
        stream="TRAINING_IDENTITY",
        subscriptions=[
            Subscription("training.identity.institution.registered.v1", iev.InstitutionRegistered, registered),
            Subscription("training.identity.institution.suspended.v1", iev.InstitutionSuspended, suspended),
            Subscription("training.identity.institution.reinstated.v1", iev.InstitutionReinstated, reinstated),
        ],
    )


def learning_consumer() -> ConsumerSpec:
    async def credited(ctx: EventContext, m: lev.HoursCredited) -> None:
        await ctx.session.execute(
            insert(credited_hours)
            .values(
                entry_id=uuid.UUID(m.entry_id),
                enrollment_id=uuid.UUID(m.enrollment_id),
                course_id=uuid.UUID(m.course_id),
                hours=m.credited_hours,
                invalidated=False,
            )
            .on_conflict_do_nothing()
        )

    async def invalidated(ctx: EventContext, m: lev.HoursInvalidated) -> None:
        taken = [uuid.UUID(i) for i in m.invalidated_entry_ids]
        if taken:
            await ctx.session.execute(
                update(credited_hours).where(credited_hours.c.entry_id.in_(taken)).values(invalidated=True)
            )

    async def finished(ctx: EventContext, m: lev.CourseFinished) -> None:
        await ctx.session.execute(
            insert(course_finishes)
            .values(
                enrollment_id=uuid.UUID(m.enrollment_id),
                course_id=uuid.UUID(m.course_id),
                finished_at=from_timestamp(m.finished_at),
            )
            .on_conflict_do_nothing()
        )

    async def anomaly(ctx: EventContext, m: lev.AnomalyRaised) -> None:
        await ctx.session.execute(
            insert(learning_anomalies)
            .values(
                anomaly_id=uuid.UUID(m.anomaly_id),
                enrollment_id=uuid.UUID(m.enrollment_id),
                course_id=uuid.UUID(m.course_id) if m.course_id else None,
                raised_at=from_timestamp(m.raised_at),
            )
            .on_conflict_do_nothing()
        )

    return ConsumerSpec(
        durable="courses-learning",
        stream="TRAINING_LEARNING",
        subscriptions=[
            Subscription("training.learning.hours.credited.v1", lev.HoursCredited, credited),
            Subscription("training.learning.hours.invalidated.v1", lev.HoursInvalidated, invalidated),
            Subscription("training.learning.course.finished.v1", lev.CourseFinished, finished),
            Subscription("training.learning.anomaly.raised.v1", lev.AnomalyRaised, anomaly),
        ],
    )
