"""The class-final exam and the face check at start, against the real learning service and the
real face matcher: a final exam opens only once learning reports the class complete (the trainee
really studies it), allows the attempts it was defined with, and an exam that checks faces starts
only for the enrolled face."""

from __future__ import annotations

import uuid

import asyncpg
import grpc
import pytest_asyncio

from training.exams.v1 import exams_events_pb2 as ev
from training.exams.v1 import exams_pb2 as pb
from training.learning.v1 import learning_pb2 as lpb
from training_events import Headers
from training_testkit import wait_until
from training_testkit.rpc import rpc_failure
from training_testkit.streams import published

from .conftest import BASELINE, FACES, SAME_PERSON, SOMEONE_ELSE, Finalist, complete_class, start_when_allowed


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def final_class(exam_office, classroom):  # type: ignore[no-untyped-def]
    """A class with a final exam (two attempts, face check at start) and a trainee with an enrolled face."""
    where = await exam_office.exam_class(topics=(("law", 1),), lessons=(60,))
    exam = await exam_office.define(where, ev.EXAM_KIND_FINAL, max_attempts=2, face_check=None)
    person = await exam_office.people.enrolled_trainee(FACES[BASELINE])
    _, enrollment_id = await exam_office.enrolled(where, person)
    await wait_until(
        lambda: _known_to_learning(classroom, person, enrollment_id), what="learning to know the enrollment"
    )
    return where, exam, Finalist(person, enrollment_id)


async def _known_to_learning(classroom, person, enrollment_id) -> bool:  # type: ignore[no-untyped-def]
    try:
        await classroom.progress(person, enrollment_id)
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return False
        raise
    return True


async def test_a_final_exam_opens_only_after_the_class_is_complete(final_class, exam_office, classroom) -> None:
    where, exam, finalist = final_class
    assert (exam.face_check_at_start, exam.max_attempts) == (True, 2)

    early = await rpc_failure(
        exam_office.start(finalist.person, exam, FACES[SAME_PERSON]), grpc.StatusCode.FAILED_PRECONDITION
    )
    assert early.reason == "CLASS_NOT_COMPLETED"

    await complete_class(classroom, where, finalist)
    started = await start_when_allowed(exam_office, finalist.person, exam, FACES[SAME_PERSON])

    assert (started.attempt.number, started.attempt.kind) == (1, ev.EXAM_KIND_FINAL)
    assert started.attempt.enrollment_id == finalist.enrollment_id
    await exam_office.submit(finalist.person, started.attempt.attempt_id)


async def test_a_final_exam_allows_the_attempts_it_was_defined_with(final_class, exam_office) -> None:
    _, exam, finalist = final_class
    second = await exam_office.start(finalist.person, exam, FACES[SAME_PERSON])
    assert second.attempt.number == 2
    await exam_office.submit(finalist.person, second.attempt.attempt_id)

    third = await rpc_failure(
        exam_office.start(finalist.person, exam, FACES[SAME_PERSON]), grpc.StatusCode.FAILED_PRECONDITION
    )
    assert third.reason == "ATTEMPTS_EXHAUSTED"
    assert third.metadata["max_attempts"] == "2"


async def test_hours_invalidated_after_completion_close_the_final_exam(
    final_class, exam_office, classroom, exams_database, nats_server
) -> None:
    where, exam, _ = final_class
    person = await exam_office.people.enrolled_trainee(FACES[BASELINE])
    _, enrollment_id = await exam_office.enrolled(where, person)
    await wait_until(
        lambda: _known_to_learning(classroom, person, enrollment_id), what="learning to know the enrollment"
    )
    await complete_class(classroom, where, Finalist(person, enrollment_id))

    await classroom.stub.InvalidateHours(
        lpb.InvalidateHoursRequest(enrollment_id=enrollment_id, reason="确认代学，作废全部学时"),
        metadata=where.admin.metadata,
    )
    invalidated = await wait_until(
        lambda: published(
            nats_server.url, "TRAINING_LEARNING", "training.learning.hours.invalidated.v1", enrollment_id
        ),
        what="learning's hours.invalidated",
    )
    event_id = uuid.UUID(invalidated[-1].headers[Headers.MSG_ID])
    conn = await asyncpg.connect(exams_database)
    try:
        await wait_until(
            lambda: conn.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", event_id),
            what="exams to process the invalidation",
        )
    finally:
        await conn.close()

    closed = await rpc_failure(exam_office.start(person, exam, FACES[SAME_PERSON]), grpc.StatusCode.FAILED_PRECONDITION)
    assert closed.reason == "CLASS_NOT_COMPLETED"


async def test_the_start_face_check_admits_only_the_enrolled_face(exam_office, nats_server) -> None:
    where = await exam_office.exam_class()
    exam = await exam_office.define(where, ev.EXAM_KIND_MOCK, face_check=None)
    assert exam.face_check_at_start
    trainee = await exam_office.people.enrolled_trainee(FACES[BASELINE])
    await exam_office.enrolled(where, trainee)

    missing = await rpc_failure(exam_office.start(trainee, exam), grpc.StatusCode.INVALID_ARGUMENT)
    assert missing.fields == ("face_image",)
    impostor = await rpc_failure(
        exam_office.start(trainee, exam, FACES[SOMEONE_ELSE]), grpc.StatusCode.FAILED_PRECONDITION
    )
    assert (impostor.reason, impostor.metadata["outcome"]) == ("FACE_CHECK_FAILED", "no_match")
    assert impostor.metadata["face_check_id"]
    listed = await exam_office.stub.ListAttempts(
        pb.ListAttemptsRequest(exam_id=exam.exam_id), metadata=trainee.metadata
    )
    assert list(listed.attempts) == []

    started = await exam_office.start(trainee, exam, FACES[SAME_PERSON])
    face_check_id = started.attempt.start_face_check_id
    assert face_check_id
    assert face_check_id != impostor.metadata["face_check_id"]
    await exam_office.submit(trainee, started.attempt.attempt_id)
    messages = await wait_until(
        lambda: published(
            nats_server.url, "TRAINING_EXAMS", "training.exams.attempt.graded.v1", started.attempt.attempt_id
        ),
        what="attempt.graded",
    )
    assert ev.AttemptGraded.FromString(messages[0].data).start_face_check_id == face_check_id


async def test_an_exam_may_turn_the_start_face_check_off(exam_office) -> None:
    where = await exam_office.exam_class()
    exam = await exam_office.define(where, ev.EXAM_KIND_MOCK, face_check=False)
    trainee, _ = await exam_office.enrolled(where)

    started = await exam_office.start(trainee, exam)

    assert not exam.face_check_at_start
    assert started.attempt.start_face_check_id == ""
