"""Helpers for exams' tests: real photographs, the sample bank's answer keys (to answer right or
wrong on purpose), a trainee who completes a class by really studying it, and events published
the way courses and learning publish them (for exams instances on a private NATS)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import grpc
import nats
import pytest
from google.protobuf.message import Message

from training.exams.v1 import exams_pb2 as pb
from training.learning.v1 import learning_pb2 as lpb
from training_events import Headers
from training_events.envelope import format_time
from training_exams.sample import sample_bank
from training_exams.testing import ExamClass, ExamOffice, Keys
from training_identity.testing import FacePhotos, Person
from training_learning.testing import Classroom
from training_testkit import wait_until

FACES = FacePhotos(Path(__file__).parent / "data" / "faces")
BASELINE = "obama.jpg"
SAME_PERSON = "obama2.jpg"
SOMEONE_ELSE = "biden.jpg"


@pytest.fixture(scope="session")
def faces() -> FacePhotos:
    return FACES


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys(sample_bank())


async def answer_all(office: ExamOffice, trainee: Person, started: pb.StartAttemptResponse, choose) -> None:  # type: ignore[no-untyped-def]
    """Save `choose(question)` for every question of the started paper."""
    for q in started.paper.questions:
        await office.save(trainee, started.attempt.attempt_id, q.position, choose(q))


@dataclass
class Finalist:
    """A trainee with an enrolled face, enrolled in a class whose final exam it may sit once complete."""

    person: Person
    enrollment_id: str


async def complete_class(classroom: Classroom, where: ExamClass, finalist: Finalist) -> None:
    """Study every lesson of the class honestly to its end, until learning reports the class complete."""
    for lesson in where.school_class.lessons():
        player = await classroom.start(finalist.person, finalist.enrollment_id, lesson.lesson_id, FACES[SAME_PERSON])
        await player.study(lesson.duration_seconds, FACES[SAME_PERSON])
        await player.end(FACES[SAME_PERSON])
    progress = await classroom.progress(finalist.person, finalist.enrollment_id)
    assert progress.state == lpb.ENROLLMENT_STATE_COMPLETED


async def start_when_allowed(
    office: ExamOffice, trainee: Person, exam: pb.Exam, image: bytes = b""
) -> pb.StartAttemptResponse:
    """Start `exam` once exams has processed the class completion (CLASS_NOT_COMPLETED until then)."""

    async def started() -> pb.StartAttemptResponse | None:
        try:
            return await office.start(trainee, exam, image)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.FAILED_PRECONDITION and "complete" in (exc.details() or ""):
                return None
            raise

    return await wait_until(started, what="exams to learn of the completion")


async def publish(nats_url: str, subject: str, message: Message, key: str, *, source: str) -> None:
    """Publish an event with the envelope the outbox relay gives it (for a private NATS)."""
    client = await nats.connect(nats_url)
    try:
        headers = {
            Headers.MSG_ID: str(uuid.uuid4()),
            Headers.TYPE: message.DESCRIPTOR.full_name,
            Headers.SOURCE: source,
            Headers.TIME: format_time(datetime.now(UTC)),
            Headers.KEY: key,
        }
        await client.jetstream().publish(subject, message.SerializeToString(), headers=headers)
    finally:
        await client.close()


def positions(paper: pb.Paper, kind: int) -> Sequence[pb.PaperQuestion]:
    return [q for q in paper.questions if q.type == kind]
