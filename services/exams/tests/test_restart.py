"""Deadlines live in the database: an attempt whose exams process stopped is submitted at its
deadline by the next process. Runs a private exams (own database and NATS, own clock) fed with
courses' and learning's events as they publish them, the completion arriving before the enrollment."""

from __future__ import annotations

import uuid

import grpc
import nats.js.errors

from training.common.v1 import common_pb2 as R
from training.courses.v1 import courses_events_pb2 as cev
from training.exams.v1 import exams_events_pb2 as ev
from training.exams.v1 import exams_pb2 as pb
from training.exams.v1 import exams_pb2_grpc
from training.learning.v1 import learning_events_pb2 as lev
from training_exams.service import MIGRATIONS, ExamsService
from training_exams.testing import ExamClass, ExamOffice, exams_settings
from training_identity.testing import migrated_database
from training_rulebook.testing import UNCAPPED_FROM
from training_runtime.clients import insecure_channel
from training_runtime.clock import ManualClock
from training_runtime.protoconv import timestamp
from training_testkit import running_app, wait_until
from training_testkit.streams import published

from .conftest import publish


async def test_an_attempt_is_submitted_at_its_deadline_by_the_next_process(
    test_databases, nats_factory, identity_app, people, platform_secrets, rulebook_file, campus
) -> None:
    private_nats = nats_factory()
    database = await migrated_database(test_databases, "exams_restart", MIGRATIONS)
    clock = ManualClock(UNCAPPED_FROM)
    settings = exams_settings(
        database_url=database,
        nats_url=private_nats.url,
        identity_port=identity_app.port,
        secret=platform_secrets["client_secret_exams"],
        rulebook=rulebook_file,
    )
    institution = await people.institution()
    admin = await people.account(R.ROLE_INSTITUTION_ADMIN, institution_id=institution.institution_id)
    trainee = await people.trainee()
    class_id, enrollment_id = str(uuid.uuid4()), str(uuid.uuid4())
    where = {"class_id": class_id, "institution_id": institution.institution_id, "region_code": "440106"}
    facts = [
        (
            "training.courses.class.opened.v1",
            cev.ClassOpened(
                **where,
                syllabus_id=str(uuid.uuid4()),
                qualification_type=R.QUALIFICATION_TYPE_SAFETY_MANAGER_HIGH_RISK,
                training_kind=R.TRAINING_KIND_INITIAL,
                rulebook_version="test-2026",
                topics=[cev.ClassTopic(topic_id=str(uuid.uuid4()), code="fire", required_hours=1)],
                opened_at=timestamp(clock.now()),
            ),
            class_id,
            "courses",
        ),
        (
            "training.learning.class.completed.v1",
            lev.ClassCompleted(
                **where,
                enrollment_id=enrollment_id,
                trainee_id=trainee.user_id,
                qualification_type=R.QUALIFICATION_TYPE_SAFETY_MANAGER_HIGH_RISK,
                training_kind=R.TRAINING_KIND_INITIAL,
                rulebook_version="test-2026",
                completed_at=timestamp(clock.now()),
            ),
            enrollment_id,
            "learning",
        ),
        (
            "training.courses.enrollment.created.v1",
            cev.EnrollmentCreated(
                **where, enrollment_id=enrollment_id, trainee_id=trainee.user_id, enrolled_at=timestamp(clock.now())
            ),
            enrollment_id,
            "courses",
        ),
    ]

    async with running_app(ExamsService(), settings, clock=clock) as first:
        for subject, message, key, source in facts:

            async def published_once(subject=subject, message=message, key=key, source=source) -> bool:  # type: ignore[no-untyped-def]
                try:
                    await publish(private_nats.url, subject, message, key, source=source)
                except nats.js.errors.NoStreamResponseError:
                    return False  # the stream is being provisioned
                return True

            await wait_until(published_once, what=f"a stream for {subject}")
        channel = insecure_channel(f"127.0.0.1:{first.port}")
        office = ExamOffice(exams_pb2_grpc.ExamsServiceStub(channel), campus, people)
        exam = await office.define(
            ExamClass(class_id, admin),
            ev.EXAM_KIND_FINAL,
            max_attempts=1,
            time_limit_minutes=30,
        )

        async def start() -> pb.StartAttemptResponse | None:
            try:
                return await office.start(trainee, exam)
            except grpc.aio.AioRpcError as exc:
                if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION):
                    return None  # the enrollment is not known yet
                raise

        started = await wait_until(start, what="exams to know the completed enrollment")
        await office.save(trainee, started.attempt.attempt_id, 0, [1])
        await channel.close()

    clock.advance(31 * 60)
    async with running_app(ExamsService(), settings, clock=clock) as second:
        channel = insecure_channel(f"127.0.0.1:{second.port}")
        stub = exams_pb2_grpc.ExamsServiceStub(channel)

        async def graded() -> pb.Attempt | None:
            attempt = (
                await stub.GetAttempt(
                    pb.GetAttemptRequest(attempt_id=started.attempt.attempt_id), metadata=trainee.metadata
                )
            ).attempt
            return attempt if attempt.status == pb.ATTEMPT_STATUS_GRADED else None

        attempt = await wait_until(graded, what="the restarted process to submit the overdue attempt")
        await channel.close()
        events = await wait_until(
            lambda: published(
                private_nats.url, "TRAINING_EXAMS", "training.exams.attempt.graded.v1", started.attempt.attempt_id
            ),
            what="attempt.graded from the second process",
        )

    assert (attempt.cause, attempt.answered, attempt.enrollment_id) == (
        ev.SUBMISSION_CAUSE_DEADLINE,
        1,
        enrollment_id,
    )
    assert attempt.submitted_at == started.attempt.deadline
    graded_event = ev.AttemptGraded.FromString(events[0].data)
    assert (graded_event.kind, graded_event.cause) == (ev.EXAM_KIND_FINAL, ev.SUBMISSION_CAUSE_DEADLINE)
    assert [t.topic_id for t in graded_event.topics if t.topic_code == "fire"] == [str(facts[0][1].topics[0].topic_id)]
