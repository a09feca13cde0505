"""Exams (exams): the trainee's exams of its classes, attempts with a start face check, answers saved
one at a time, page leaves, submission and the result."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import AwareDatetime, Base64Bytes

from training.common.v1 import common_pb2
from training.exams.v1 import exams_events_pb2 as epb
from training.exams.v1 import exams_pb2 as pb
from training.exams.v1 import exams_pb2_grpc
from training_gateway.deps import Auth, Body, Id, Int32, Int64, PageSize, Services, Text, answers, enum_names, to_json
from training_runtime.protoconv import timestamp

router = APIRouter(prefix="/api/v1", tags=["exams"])


def _exams(services: Services) -> exams_pb2_grpc.ExamsServiceStub:
    return services.stub("exams", exams_pb2_grpc.ExamsServiceStub)


class BlueprintSectionBody(Body):
    type: enum_names(pb.QuestionType)  # type: ignore[valid-type]
    topic: Text = ""
    difficulty: enum_names(pb.Difficulty) | None = None  # type: ignore[valid-type]
    count: Int32
    points: float


class CreateExamBody(Body):
    class_id: Text
    kind: enum_names(epb.ExamKind)  # type: ignore[valid-type]
    title: Text
    bank_id: Text
    bank_version: Int32 = 0
    time_limit_minutes: Int32
    max_attempts: Int32 = 0
    face_check_at_start: bool | None = None
    blueprint: list[BlueprintSectionBody]


class StartAttemptBody(Body):
    face_image: Base64Bytes = b""


class AnswerBody(Body):
    selected: list[Int32]
    revision: Int64


class PageLeaveBody(Body):
    client_time: AwareDatetime


class SubmitBody(Body):
    pass


@router.get(
    "/exams", summary="Exams the caller may see (a trainee those of its classes)", **answers(pb.ListExamsResponse)
)
async def list_exams(
    services: Services,
    auth: Auth,
    class_id: str = "",
    kind: enum_names(epb.ExamKind) | None = None,  # type: ignore[valid-type]
    page_size: PageSize = 0,
    page_token: str = "",
):
    request = pb.ListExamsRequest(
        page=common_pb2.PageRequest(page_size=page_size, page_token=page_token),
        class_id=class_id,
        kind=epb.ExamKind.Value(kind) if kind else 0,
    )
    return to_json(await services.call(_exams(services).ListExams, request, auth))


@router.post(
    "/exams",
    status_code=201,
    summary="Define a practice, mock or final exam of a class (institution admin)",
    **answers(pb.CreateExamResponse),
)
async def create_exam(body: CreateExamBody, services: Services, auth: Auth):
    request = pb.CreateExamRequest(
        class_id=body.class_id,
        kind=epb.ExamKind.Value(body.kind),
        title=body.title,
        bank_id=body.bank_id,
        bank_version=body.bank_version,
        time_limit_minutes=body.time_limit_minutes,
        max_attempts=body.max_attempts,
        blueprint=[
            pb.BlueprintSection(
                type=pb.QuestionType.Value(section.type),
                topic=section.topic,
                difficulty=pb.Difficulty.Value(section.difficulty) if section.difficulty else 0,
                count=section.count,
                points=section.points,
            )
            for section in body.blueprint
        ],
    )
    if body.face_check_at_start is not None:
        request.face_check_at_start = body.face_check_at_start
    return to_json(await services.call(_exams(services).CreateExam, request, auth))


@router.get("/exams/{exam_id}", summary="One exam", **answers(pb.GetExamResponse))
async def get_exam(exam_id: Id, services: Services, auth: Auth):
    return to_json(await services.call(_exams(services).GetExam, pb.GetExamRequest(exam_id=exam_id), auth))


@router.post(
    "/exams/{exam_id}/attempts",
    status_code=201,
    summary="Start an attempt (or resume the one in progress), with a face frame for mock and final exams",
    **answers(pb.StartAttemptResponse),
)
async def start_attempt(exam_id: Id, body: StartAttemptBody, services: Services, auth: Auth):
    request = pb.StartAttemptRequest(exam_id=exam_id, face_image=body.face_image)
    return to_json(await services.call(_exams(services).StartAttempt, request, auth))


@router.put(
    "/attempts/{attempt_id}/answers/{position}",
    summary="Save the answer to one question (idempotent by revision)",
    **answers(pb.SaveAnswerResponse),
)
async def save_answer(attempt_id: Id, position: Int32, body: AnswerBody, services: Services, auth: Auth):
    request = pb.SaveAnswerRequest(
        attempt_id=attempt_id, position=position, selected=body.selected, revision=body.revision
    )
    return to_json(await services.call(_exams(services).SaveAnswer, request, auth))


@router.post(
    "/attempts/{attempt_id}/page-leaves",
    summary="Record that the exam page lost focus",
    **answers(pb.RecordPageLeaveResponse),
)
async def record_page_leave(attempt_id: Id, body: PageLeaveBody, services: Services, auth: Auth):
    request = pb.RecordPageLeaveRequest(attempt_id=attempt_id, client_time=timestamp(body.client_time))
    return to_json(await services.call(_exams(services).RecordPageLeave, request, auth))


@router.post(
    "/attempts/{attempt_id}/submit", summary="Submit and grade an attempt", **answers(pb.SubmitAttemptResponse)
)
async def submit_attempt(attempt_id: Id, body: SubmitBody, services: Services, auth: Auth):
    request = pb.SubmitAttemptRequest(attempt_id=attempt_id)
    return to_json(await services.call(_exams(services).SubmitAttempt, request, auth))


@router.get(
    "/attempts/{attempt_id}", summary="One attempt with its paper and answers", **answers(pb.GetAttemptResponse)
)
async def get_attempt(attempt_id: Id, services: Services, auth: Auth):
    request = pb.GetAttemptRequest(attempt_id=attempt_id)
    return to_json(await services.call(_exams(services).GetAttempt, request, auth))


@router.get("/attempts", summary="Attempts the caller may see, newest first", **answers(pb.ListAttemptsResponse))
async def list_attempts(
    services: Services,
    auth: Auth,
    exam_id: str = "",
    class_id: str = "",
    trainee_id: str = "",
    page_size: PageSize = 0,
    page_token: str = "",
):
    request = pb.ListAttemptsRequest(
        page=common_pb2.PageRequest(page_size=page_size, page_token=page_token),
        exam_id=exam_id,
        class_id=class_id,
        trainee_id=trainee_id,
    )
    return to_json(await services.call(_exams(services).ListAttempts, request, auth))
