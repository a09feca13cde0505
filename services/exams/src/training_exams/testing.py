"""Test support for exams and for services whose tests need graded attempts (pytest plugin).

Fixtures:
- `exams_app`: exams running in-process (session) on the shared `training_clock` and the test
  rulebook, learning of classes from the session's courses and of completions from its learning.
- `exams_stub`: an ExamsService stub.
- `exam_office`: the sample bank imported and approved once, classes with exams, trainees whom
  exams knows as enrolled, and attempts, all through the public APIs.
- `Keys`: the sample bank's answer keys, to answer a paper right or wrong on purpose.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import grpc
import pytest
import pytest_asyncio

from training.exams.v1 import exams_events_pb2 as events
from training.exams.v1 import exams_pb2 as pb
from training.exams.v1 import exams_pb2_grpc
from training_courses.testing import Campus, OpenClass, service_settings
from training_devstack.embedded import NatsServer
from training_exams.sample import official_blueprint, sample_bank
from training_exams.service import MIGRATIONS, ExamsService
from training_exams.settings import ExamsSettings
from training_identity.testing import People, Person, migrated_database
from training_runtime.clients import insecure_channel
from training_runtime.clock import ManualClock
from training_runtime.server.app import ServiceApp
from training_testkit import TestDatabases, running_app, wait_until


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def exams_database(test_databases: TestDatabases) -> str:
    return await migrated_database(test_databases, "exams", MIGRATIONS)


def exams_settings(
    *, database_url: str, nats_url: str, identity_port: int, secret: str, rulebook: str, **overrides: object
) -> ExamsSettings:
    return service_settings(
        ExamsSettings,
        database_url=database_url,
        nats_url=nats_url,
        identity_port=identity_port,
        secret=secret,
        rulebook=rulebook,
        **{"deadline_sweep_interval_seconds": 0.1, **overrides},
    )


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def exams_app(
    exams_database: str,
    nats_server: NatsServer,
    identity_app: ServiceApp,
    courses_app: ServiceApp,
    platform_secrets: dict[str, str],
    rulebook_file: str,
    training_clock: ManualClock,
) -> AsyncIterator[ServiceApp]:
    assert identity_app.port is not None
    settings = exams_settings(
        database_url=exams_database,
        nats_url=nats_server.url,
        identity_port=identity_app.port,
        secret=platform_secrets["client_secret_exams"],
        rulebook=rulebook_file,
    )
    async with running_app(ExamsService(), settings, clock=training_clock) as app:
        yield app


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def exams_channel(exams_app: ServiceApp) -> AsyncIterator[grpc.aio.Channel]:
    channel = insecure_channel(f"127.0.0.1:{exams_app.port}")
    yield channel
    await channel.close()


@pytest.fixture(scope="session")
def exams_stub(exams_channel: grpc.aio.Channel) -> exams_pb2_grpc.ExamsServiceStub:
    return exams_pb2_grpc.ExamsServiceStub(exams_channel)


@dataclass
class ExamClass:
    """A class exams knows, the admin of its institution, and the exams defined for it."""

    class_id: str
    admin: Person
    # The class as courses opened it (None for a class known only from published events).
    opened: OpenClass | None = None
    exams: dict[str, pb.Exam] = field(default_factory=dict)

    @property
    def school_class(self) -> OpenClass:
        assert self.opened is not None, "this class was not opened through courses"
        return self.opened


class ExamOffice:
    """Builds the exams side of a scenario through the public APIs."""

    def __init__(self, stub: exams_pb2_grpc.ExamsServiceStub, campus: Campus | None, people: People) -> None:
        self.stub = stub
        # Opens classes through courses; None when classes reach exams as published events only.
        self._campus = campus
        self.people = people
        self._platform_bank: pb.Bank | None = None

    async def platform_bank(self) -> pb.Bank:
        """The sample bank as a platform bank, imported and approved once per session."""
        if self._platform_bank is None:
            operator = self.people.operator.metadata
            imported = await self.stub.ImportBank(pb.ImportBankRequest(content=sample_bank()), metadata=operator)
            if imported.bank.versions[-1].status == pb.BANK_VERSION_STATUS_PENDING_REVIEW:
                await self.stub.ReviewBankVersion(
                    pb.ReviewBankVersionRequest(
                        bank_id=imported.bank.bank_id,
                        version=imported.version,
                        decision=pb.REVIEW_DECISION_APPROVE,
                        comment="题库内容审核通过",
                    ),
                    metadata=operator,
                )
            self._platform_bank = (
                await self.stub.GetBank(pb.GetBankRequest(bank_id=imported.bank.bank_id), metadata=operator)
            ).bank
        return self._platform_bank

    @property
    def campus(self) -> Campus:
        assert self._campus is not None, "this office has no courses service to open classes with"
        return self._campus

    async def exam_class(
        self,
        *,
        topics: Sequence[tuple[str, int]] = (("law", 1),),
        lessons: Sequence[int] = (60,),
        region: str = "440106",
    ) -> ExamClass:
        opened = await self.campus.open_class(topics=topics, lessons=lessons, region=region)
        return ExamClass(opened.class_id, opened.school.admin, opened)

    async def define(
        self,
        where: ExamClass,
        kind: int,
        *,
        blueprint: Sequence[pb.BlueprintSection] | None = None,
        time_limit_minutes: int = 60,
        max_attempts: int = 0,
        face_check: bool | None = False,
        bank: pb.Bank | None = None,
        title: str = "",
    ) -> pb.Exam:
        """Define an exam of `where` (retrying until exams has learned of the class)."""
        bank = bank or await self.platform_bank()
        request = pb.CreateExamRequest(
            class_id=where.class_id,
            kind=kind,
            title=title or f"{events.ExamKind.Name(kind)} {uuid.uuid4().hex[:4]}",
            bank_id=bank.bank_id,
            time_limit_minutes=time_limit_minutes,
            max_attempts=max_attempts,
            blueprint=blueprint if blueprint is not None else official_blueprint(),
        )
        if face_check is not None:
            request.face_check_at_start = face_check

        async def created() -> pb.Exam | None:
            try:
                return (await self.stub.CreateExam(request, metadata=where.admin.metadata)).exam
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.FAILED_PRECONDITION and "has not learned" in (exc.details() or ""):
                    return None
                raise

        exam = await wait_until(created, what="exams to learn of the class")
        where.exams[exam.exam_id] = exam
        return exam

    async def enrolled(self, where: ExamClass, trainee: Person | None = None) -> tuple[Person, str]:
        """Enroll a trainee (a new one unless given) and wait until exams knows; (trainee, enrollment id)."""
        trainee = trainee or await self.people.trainee()
        enrollment = await self.campus.enroll(where.school_class, trainee)
        await self.wait_enrolled(where, trainee)
        return trainee, enrollment.enrollment_id

    async def wait_enrolled(self, where: ExamClass, trainee: Person) -> None:
        async def known() -> bool:
            listed = await self.stub.ListExams(pb.ListExamsRequest(class_id=where.class_id), metadata=trainee.metadata)
            return bool(listed.exams)

        await wait_until(known, what="exams to learn of the enrollment")

    async def start(self, trainee: Person, exam: pb.Exam, image: bytes = b"") -> pb.StartAttemptResponse:
        return await self.stub.StartAttempt(
            pb.StartAttemptRequest(exam_id=exam.exam_id, face_image=image), metadata=trainee.metadata
        )

    async def save(
        self, trainee: Person, attempt_id: str, position: int, selected: Sequence[int], revision: int = 1
    ) -> pb.SaveAnswerResponse:
        return await self.stub.SaveAnswer(
            pb.SaveAnswerRequest(attempt_id=attempt_id, position=position, selected=selected, revision=revision),
            metadata=trainee.metadata,
        )

    async def submit(self, trainee: Person, attempt_id: str) -> pb.SubmitAttemptResponse:
        return await self.stub.SubmitAttempt(pb.SubmitAttemptRequest(attempt_id=attempt_id), metadata=trainee.metadata)

    async def attempt(self, viewer: Person, attempt_id: str) -> pb.GetAttemptResponse:
        return await self.stub.GetAttempt(pb.GetAttemptRequest(attempt_id=attempt_id), metadata=viewer.metadata)


class Keys:
    """The sample bank's answer keys, by question stem (the test knows them; responses never do)."""

    def __init__(self, content: bytes) -> None:
        self.by_stem: dict[str, set[str]] = {}
        # The options of each question in the bank's order.
        self.options: dict[str, list[str]] = {}
        for q in json.loads(content)["questions"]:
            if q["type"] == "true_false":
                self.options[q["stem"]] = ["正确", "错误"]
                self.by_stem[q["stem"]] = {"正确" if q["answer"] else "错误"}
            else:
                self.options[q["stem"]] = q["options"]
                self.by_stem[q["stem"]] = {q["options"]["ABCDEFGH".index(letter)] for letter in q["answer"]}

    def right(self, question: pb.PaperQuestion) -> list[int]:
        """The displayed positions of the correct options."""
        correct = self.by_stem[question.stem]
        return [i for i, text in enumerate(question.options) if text in correct]

    def wrong(self, question: pb.PaperQuestion) -> list[int]:
        """A selection that scores nothing: one wrong option, or (every option being correct) only one of them."""
        correct = self.by_stem[question.stem]
        return [next((i for i, text in enumerate(question.options) if text not in correct), 0)]

    def partial(self, question: pb.PaperQuestion) -> list[int]:
        """Some, not all, correct options of a multiple-choice question."""
        return self.right(question)[:1]


@pytest.fixture(scope="session")
def exam_office(
    exams_stub: exams_pb2_grpc.ExamsServiceStub, exams_app: ServiceApp, campus: Campus, people: People
) -> ExamOffice:
    return ExamOffice(exams_stub, campus, people)
