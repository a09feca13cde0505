"""Demo exams for `make run`: the sample bank (shipped with the exams service) imported as a
platform bank and approved, and a mock and a final exam for the demo class. Idempotent: the bank is
found by its code, the exams by their titles."""

from __future__ import annotations

import asyncio

import grpc

from training.courses.v1 import courses_pb2 as cpb
from training.courses.v1 import courses_pb2_grpc
from training.exams.v1 import exams_events_pb2 as ev
from training.exams.v1 import exams_pb2 as pb
from training.exams.v1 import exams_pb2_grpc
from training.identity.v1 import identity_pb2 as ipb
from training.identity.v1 import identity_pb2_grpc
from training_devstack.demo import DEMO_PASSWORD, _auth
from training_devstack.demo_training import CLASS_TITLE
from training_exams.sample import official_blueprint, sample_bank

MOCK_TITLE = "安全管理人员模拟考试（演示）"
FINAL_TITLE = "安全管理人员结业考试（演示）"


async def _approved_bank(exams: exams_pb2_grpc.ExamsServiceStub, operator) -> pb.Bank:  # type: ignore[no-untyped-def]
    imported = await exams.ImportBank(pb.ImportBankRequest(content=sample_bank()), metadata=operator)
    version = next(v for v in imported.bank.versions if v.version == imported.version)
    if version.status == pb.BANK_VERSION_STATUS_PENDING_REVIEW:
        reviewed = await exams.ReviewBankVersion(
            pb.ReviewBankVersionRequest(
                bank_id=imported.bank.bank_id,
                version=imported.version,
                decision=pb.REVIEW_DECISION_APPROVE,
                comment="示例题库审核通过",
            ),
            metadata=operator,
        )
        return reviewed.bank
    return imported.bank


async def _define(exams: exams_pb2_grpc.ExamsServiceStub, request: pb.CreateExamRequest, admin) -> pb.Exam:  # type: ignore[no-untyped-def]
    """Create the exam, waiting (at most a minute) for exams to learn of the demo class."""
    for _ in range(120):
        try:
            return (await exams.CreateExam(request, metadata=admin)).exam
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.FAILED_PRECONDITION or "has not learned" not in (exc.details() or ""):
                raise
        await asyncio.sleep(0.5)
    raise SystemExit("exams did not learn of the demo class within a minute")


async def seed_exams(host: str, secrets: dict[str, str]) -> list[str]:
    async with (
        grpc.aio.insecure_channel(f"{host}:50051") as identity_channel,
        grpc.aio.insecure_channel(f"{host}:50052") as courses_channel,
        grpc.aio.insecure_channel(f"{host}:50054") as exams_channel,
    ):
        identity = identity_pb2_grpc.IdentityServiceStub(identity_channel)
        courses = courses_pb2_grpc.CoursesServiceStub(courses_channel)
        exams = exams_pb2_grpc.ExamsServiceStub(exams_channel)

        async def token(login: str, password: str = DEMO_PASSWORD) -> tuple[tuple[str, str], ...]:
            return _auth((await identity.Login(ipb.LoginRequest(login=login, password=password))).tokens.access_token)

        operator = await token("operator", secrets["operator_password"])
        admin = await token("demo-school")
        bank = await _approved_bank(exams, operator)
        classes = (await courses.ListClasses(cpb.ListClassesRequest(), metadata=admin)).training_classes
        training_class = next(c for c in classes if c.title == CLASS_TITLE)
        existing = {
            e.title: e
            for e in (
                await exams.ListExams(pb.ListExamsRequest(class_id=training_class.class_id), metadata=admin)
            ).exams
        }
        defined = {}
        for title, kind, attempts in ((MOCK_TITLE, ev.EXAM_KIND_MOCK, 0), (FINAL_TITLE, ev.EXAM_KIND_FINAL, 2)):
            defined[title] = existing.get(title) or await _define(
                exams,
                pb.CreateExamRequest(
                    class_id=training_class.class_id,
                    kind=kind,
                    title=title,
                    bank_id=bank.bank_id,
                    time_limit_minutes=60,
                    max_attempts=attempts,
                    blueprint=official_blueprint(),
                ),
                admin,
            )
    return [
        "",
        f"Demo exams: bank {bank.code} ({bank.versions[-1].question_count} questions, version "
        f"{bank.versions[-1].version}, approved); for the demo class:",
        f"  mock  {defined[MOCK_TITLE].exam_id} (100 points, pass 80, face check at start)",
        f"  final {defined[FINAL_TITLE].exam_id} (opens once the class is complete; 2 attempts; face check at start)",
        "  take one: ExamsService/StartAttempt (face_image), SaveAnswer per question, SubmitAttempt",
    ]
