"""The events certificates consumes, one durable consumer per stream. Handlers run in the consumer's
transaction with its inbox row, so a redelivered event changes nothing twice."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert

from training.courses.v1 import courses_events_pb2 as cev
from training.exams.v1 import exams_events_pb2 as xev
from training.identity.v1 import identity_events_pb2 as iev
from training.learning.v1 import learning_events_pb2 as lev
from training_certificates.app.issuance import Issuer, merge_facts, revoke
from training_certificates.app.records import VALID
from training_certificates.app.verification import VerificationCache
from training_certificates.persistence.tables import certificates, classes, enrollment_facts, institutions
from training_events import ConsumerSpec, EventContext, PermanentEventError, Subscription
from training_runtime.clock import Clock
from training_runtime.protoconv import from_timestamp, kind_from_proto, qualification_from_proto


def consumers(issuer: Issuer, clock: Clock, cache: VerificationCache) -> list[ConsumerSpec]:
    async def class_opened(ctx: EventContext, m: cev.ClassOpened) -> None:
        topics = [{"topic_id": t.topic_id, "code": t.code, "required_hours": t.required_hours} for t in m.topics]
        await ctx.session.execute(
            insert(classes)
            .values(id=uuid.UUID(m.class_id), institution_id=uuid.UUID(m.institution_id), topics=topics)
            .on_conflict_do_nothing()
        )

    async def enrollment_created(ctx: EventContext, m: cev.EnrollmentCreated) -> None:
        facts = await merge_facts(
            ctx.session,
            m.enrollment_id,
            clock.now(),
            fact="enrollment",
            class_id=uuid.UUID(m.class_id),
            trainee_id=uuid.UUID(m.trainee_id),
            institution_id=uuid.UUID(m.institution_id),
            region_code=m.region_code,
            employer_credit_code=m.employer_credit_code,
            enrolled_at=from_timestamp(m.enrolled_at),
            # 0: an event from before courses announced retention years (the enrollment stays undated).
            retention_years=m.retention_years or None,
        )
        await issuer.try_issue(ctx.session, ctx.emit, facts)

    async def class_completed(ctx: EventContext, m: lev.ClassCompleted) -> None:
        qualification = qualification_from_proto(m.qualification_type)
        kind = kind_from_proto(m.training_kind)
        if qualification is None or kind is None:
            raise PermanentEventError("a class completion without qualification type or training kind")
        completion = {
            "qualification_type": qualification.value,
            "operation_type": m.operation_type,
            "training_kind": kind.value,
            "topics": [
                {"topic_id": t.topic_id, "required_hours": t.required_hours, "credited_hours": t.credited_hours}
                for t in m.topics
            ],
            "total_credited_hours": m.total_credited_hours,
            "rulebook_version": m.rulebook_version,
            "completed_at": from_timestamp(m.completed_at).isoformat(),
        }
        facts = await merge_facts(
            ctx.session,
            m.enrollment_id,
            clock.now(),
            fact="completion",
            class_id=uuid.UUID(m.class_id),
            trainee_id=uuid.UUID(m.trainee_id),
            institution_id=uuid.UUID(m.institution_id),
            region_code=m.region_code,
            completion=completion,
        )
        await issuer.try_issue(ctx.session, ctx.emit, facts)

    async def hours_invalidated(ctx: EventContext, m: lev.HoursInvalidated) -> None:
        if m.requirements_met:
            return  # what remains still meets every topic: the certificate stands
        enrollment = uuid.UUID(m.enrollment_id)
        certificate_id = await ctx.session.scalar(
            select(certificates.c.id).where(certificates.c.enrollment_id == enrollment, certificates.c.status == VALID)
        )
        if certificate_id is not None:
            row = await revoke(
                ctx.session,
                ctx.emit,
                certificate_id,
                reason=f"hours invalidated: {m.reason}",
                actor_id=m.actor_id,
                actor_role=m.actor_role,
                now=clock.now(),
            )
            if row is not None:
                cache.forget(row.serial_number)
            return
        # Not issued yet: the completion no longer holds, so nothing is issued from it.
        await ctx.session.execute(
            update(enrollment_facts)
            .where(enrollment_facts.c.enrollment_id == enrollment)
            .values(completion=None, updated_at=clock.now())
        )

    async def attempt_graded(ctx: EventContext, m: xev.AttemptGraded) -> None:
        if m.kind != xev.EXAM_KIND_FINAL or not m.passed:
            return
        exam = {
            "attempt_id": m.attempt_id,
            "score": m.score,
            "max_points": m.max_points,
            "pass_mark": m.pass_mark,
            "graded_at": from_timestamp(m.graded_at).isoformat(),
        }
        facts = await merge_facts(
            ctx.session,
            m.enrollment_id,
            clock.now(),
            fact="final_exam",
            class_id=uuid.UUID(m.class_id),
            trainee_id=uuid.UUID(m.trainee_id),
            institution_id=uuid.UUID(m.institution_id),
            region_code=m.region_code,
            final_exam=exam,
        )
        await issuer.try_issue(ctx.session, ctx.emit, facts)

    async def institution_registered(ctx: EventContext, m: iev.InstitutionRegistered) -> None:
        await _set_status(ctx, m.institution_id, "active", from_timestamp(m.registered_at))

    async def institution_suspended(ctx: EventContext, m: iev.InstitutionSuspended) -> None:
        await _set_status(ctx, m.institution_id, "suspended", from_timestamp(m.suspended_at))

    async def institution_reinstated(ctx: EventContext, m: iev.InstitutionReinstated) -> None:
        await _set_status(ctx, m.institution_id, "active", from_timestamp(m.reinstated_at))
        await issuer.issue_held(ctx.session, ctx.emit, m.institution_id)

    return [
        ConsumerSpec(
            durable="certificates-courses",
            stream="TRAINING_COURSES",
            subscriptions=[
                Subscription("training.courses.class.opened.v1", cev.ClassOpened, class_opened),
                Subscription("training.courses.enrollment.created.v1", cev.EnrollmentCreated, enrollment_created),
            ],
        ),
        ConsumerSpec(
            durable="certificates-learning",
            stream="TRAINING_LEARNING",
            subscriptions=[
                Subscription("training.learning.class.completed.v1", lev.ClassCompleted, class_completed),
                Subscription("training.learning.hours.invalidated.v1", lev.HoursInvalidated, hours_invalidated),
            ],
        ),
        ConsumerSpec(
            durable="certificates-exams",
            stream="TRAINING_EXAMS",
            subscriptions=[Subscription("training.exams.attempt.graded.v1", xev.AttemptGraded, attempt_graded)],
        ),
        ConsumerSpec(
            durable="certificates-institutions",
            stream="TRAINING_IDENTITY",
            subscriptions=[
                Subscription(
                    "training.identity.institution.registered.v1", iev.InstitutionRegistered, institution_registered
                ),
                Subscription(
                    "training.identity.institution.suspended.v1", iev.InstitutionSuspended, institution_suspended
                ),
                Subscription(
                    "training.identity.institution.reinstated.v1", iev.InstitutionReinstated, institution_reinstated
                ),
            ],
        ),
    ]


async def _set_status(ctx: EventContext, institution_id: str, status: str, at: datetime) -> None:
    """Newest change wins (events of one institution may be replayed out of order after a failure)."""
    await ctx.session.execute(
        insert(institutions)
        .values(id=uuid.UUID(institution_id), status=status, status_changed_at=at)
        .on_conflict_do_update(
            index_elements=[institutions.c.id],
            set_={"status": status, "status_changed_at": at},
            where=institutions.c.status_changed_at <= at,
        )
    )
