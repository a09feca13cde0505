"""The platform's events supervision turns into provincial records, one durable consumer per
publishing context. Each handler queues its record in the consumer's transaction (with the inbox
row), so an event redelivered changes nothing twice."""

from __future__ import annotations

from collections.abc import Callable

from training.certificates.v1 import certificates_events_pb2 as cert
from training.courses.v1 import courses_events_pb2 as cev
from training.exams.v1 import exams_events_pb2 as xev
from training.identity.v1 import identity_events_pb2 as iev
from training.learning.v1 import learning_events_pb2 as lev
from training_events import ConsumerSpec, EventContext, Subscription
from training_runtime.clock import Clock
from training_supervision.app import events_to_records as to
from training_supervision.app.queue import enqueue, region_of_institution, region_of_trainee
from training_supervision.domain.records import Record


def consumers(clock: Clock, on_queued: Callable[[], None]) -> list[ConsumerSpec]:
    async def queue(ctx: EventContext, record: Record) -> None:
        await enqueue(ctx.session, record, clock.now())
        on_queued()

    # identity
    async def institution_registered(ctx: EventContext, m: iev.InstitutionRegistered) -> None:
        await queue(ctx, to.institution(ctx.event_id, m, "registered", m.region_code))

    async def institution_suspended(ctx: EventContext, m: iev.InstitutionSuspended) -> None:
        region = await region_of_institution(ctx.session, m.institution_id)
        await queue(ctx, to.institution(ctx.event_id, m, "suspended", region))

    async def institution_reinstated(ctx: EventContext, m: iev.InstitutionReinstated) -> None:
        region = await region_of_institution(ctx.session, m.institution_id)
        await queue(ctx, to.institution(ctx.event_id, m, "reinstated", region))

    async def user_registered(ctx: EventContext, m: iev.UserRegistered) -> None:
        if to.is_trainee(m.role):
            await queue(ctx, to.trainee(m))

    async def face_check(ctx: EventContext, m: iev.FaceCheckRecorded) -> None:
        await queue(ctx, to.face_check(ctx.event_id, m, await region_of_trainee(ctx.session, m.user_id)))

    # courses
    async def course_published(ctx: EventContext, m: cev.CoursePublished) -> None:
        await queue(ctx, to.course(ctx.event_id, m, "published", m.region_code))

    async def course_withdrawn(ctx: EventContext, m: cev.CourseWithdrawn) -> None:
        region = await region_of_institution(ctx.session, m.institution_id)
        await queue(ctx, to.course(ctx.event_id, m, "withdrawn", region))

    async def class_opened(ctx: EventContext, m: cev.ClassOpened) -> None:
        await queue(ctx, to.training_class(ctx.event_id, m))

    async def enrollment_created(ctx: EventContext, m: cev.EnrollmentCreated) -> None:
        await queue(ctx, to.enrollment(ctx.event_id, m))

    # learning
    async def hours_credited(ctx: EventContext, m: lev.HoursCredited) -> None:
        await queue(ctx, to.hours_credited(ctx.event_id, m))

    async def hours_invalidated(ctx: EventContext, m: lev.HoursInvalidated) -> None:
        await queue(ctx, to.hours_invalidated(ctx.event_id, m))

    async def class_completed(ctx: EventContext, m: lev.ClassCompleted) -> None:
        await queue(ctx, to.completion(ctx.event_id, m))

    async def anomaly_raised(ctx: EventContext, m: lev.AnomalyRaised) -> None:
        await queue(ctx, to.anomaly(ctx.event_id, m))

    # exams: the class-final results are what the province supervises
    async def attempt_graded(ctx: EventContext, m: xev.AttemptGraded) -> None:
        if m.kind == xev.EXAM_KIND_FINAL:
            await queue(ctx, to.exam_result(ctx.event_id, m))

    # certificates
    async def certificate_issued(ctx: EventContext, m: cert.CertificateIssued) -> None:
        await queue(ctx, to.certificate_issued(ctx.event_id, m))

    async def certificate_revoked(ctx: EventContext, m: cert.CertificateRevoked) -> None:
        await queue(ctx, to.certificate_revoked(ctx.event_id, m))

    def spec(context: str, *subscriptions: Subscription) -> ConsumerSpec:
        return ConsumerSpec(
            durable=f"supervision-{context}", stream=f"TRAINING_{context.upper()}", subscriptions=subscriptions
        )

    s = Subscription
    return [
        spec(
            "identity",
            s("training.identity.institution.registered.v1", iev.InstitutionRegistered, institution_registered),
            s("training.identity.institution.suspended.v1", iev.InstitutionSuspended, institution_suspended),
            s("training.identity.institution.reinstated.v1", iev.InstitutionReinstated, institution_reinstated),
            s("training.identity.user.registered.v1", iev.UserRegistered, user_registered),
            s("training.identity.face_check.recorded.v1", iev.FaceCheckRecorded, face_check),
        ),
        spec(
            "courses",
            s("training.courses.course.published.v1", cev.CoursePublished, course_published),
            s("training.courses.course.withdrawn.v1", cev.CourseWithdrawn, course_withdrawn),
            s("training.courses.class.opened.v1", cev.ClassOpened, class_opened),
            s("training.courses.enrollment.created.v1", cev.EnrollmentCreated, enrollment_created),
        ),
        spec(
            "learning",
            s("training.learning.hours.credited.v1", lev.HoursCredited, hours_credited),
            s("training.learning.hours.invalidated.v1", lev.HoursInvalidated, hours_invalidated),
            s("training.learning.class.completed.v1", lev.ClassCompleted, class_completed),
            s("training.learning.anomaly.raised.v1", lev.AnomalyRaised, anomaly_raised),
        ),
        spec("exams", s("training.exams.attempt.graded.v1", xev.AttemptGraded, attempt_graded)),
        spec(
            "certificates",
            s("training.certificates.certificate.issued.v1", cert.CertificateIssued, certificate_issued),
            s("training.certificates.certificate.revoked.v1", cert.CertificateRevoked, certificate_revoked),
        ),
    ]
