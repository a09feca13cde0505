"""The gRPC servicer: protobuf in, application call, protobuf out. No rules live here."""

from __future__ import annotations

import grpc

from training.exams.v1 import exams_events_pb2 as events
from training.exams.v1 import exams_pb2 as pb
from training.exams.v1 import exams_pb2_grpc
from training_exams.app.answering import Answers
from training_exams.app.attempts import AttemptDetail, AttemptViews
from training_exams.app.banks import APPROVED, PENDING, REJECTED, Banks
from training_exams.app.catalogue import ExamDefinition
from training_exams.app.exams import Exams, NewExam, SectionInput
from training_exams.app.starts import Starts
from training_exams.app.submission import CAUSE_PROTO, KIND_PROTO, Cause
from training_exams.app.views import AnswerView, AttemptView, BankView, PaperView
from training_exams.domain.bank import Difficulty, QuestionType
from training_exams.domain.grading import Verdict
from training_exams.persistence.statements import GRADED, IN_PROGRESS
from training_runtime.auth import require_principal
from training_runtime.protoconv import from_timestamp, qualification_from_proto, qualification_to_proto, timestamp
from training_runtime.vocabulary import QualificationType

_TYPE = {
    QuestionType.SINGLE: pb.QUESTION_TYPE_SINGLE_CHOICE,
    QuestionType.MULTIPLE: pb.QUESTION_TYPE_MULTIPLE_CHOICE,
    QuestionType.TRUE_FALSE: pb.QUESTION_TYPE_TRUE_FALSE,
}
_TYPE_BACK = {v: k for k, v in _TYPE.items()}
_DIFFICULTY = {d: pb.Difficulty.Value(f"DIFFICULTY_{d.name}") for d in Difficulty}
_DIFFICULTY_BACK = {v: k for k, v in _DIFFICULTY.items()}
_VERSION_STATUS = {
    PENDING: pb.BANK_VERSION_STATUS_PENDING_REVIEW,
    APPROVED: pb.BANK_VERSION_STATUS_APPROVED,
    REJECTED: pb.BANK_VERSION_STATUS_REJECTED,
}
_ATTEMPT_STATUS = {IN_PROGRESS: pb.ATTEMPT_STATUS_IN_PROGRESS, GRADED: pb.ATTEMPT_STATUS_GRADED}
_VERDICT = {v: pb.AnswerVerdict.Value(f"ANSWER_VERDICT_{v.name}") for v in Verdict}
_KIND_BACK = {v: k for k, v in KIND_PROTO.items()}
_DECISION = {pb.REVIEW_DECISION_APPROVE: True, pb.REVIEW_DECISION_REJECT: False}


def _points(hundredths: int) -> float:
    return hundredths / 100


def bank_pb(b: BankView) -> pb.Bank:
    return pb.Bank(
        bank_id=b.bank_id,
        code=b.code,
        title=b.title,
        institution_id=b.institution_id,
        qualification_types=[qualification_to_proto(q) for q in b.qualification_types],
        versions=[
            pb.BankVersion(
                version=v.version,
                status=_VERSION_STATUS[v.status],
                title=v.title,
                topics=[pb.BankTopic(code=code, title=title) for code, title in v.topics],
                question_count=v.question_count,
                counts=[
                    pb.QuestionCount(
                        type=_TYPE[c.type], topic=c.topic, difficulty=_DIFFICULTY[c.difficulty], count=c.count
                    )
                    for c in v.counts
                ],
                imported_by=v.imported_by,
                imported_at=timestamp(v.imported_at),
                reviewed_by=v.reviewed_by,
                reviewed_at=timestamp(v.reviewed_at),
                review_comment=v.review_comment,
                content_sha256=v.content_sha256,
            )
            for v in b.versions
        ],
        created_at=timestamp(b.created_at),
    )


def exam_pb(e: ExamDefinition) -> pb.Exam:
    return pb.Exam(
        exam_id=str(e.exam_id),
        class_id=str(e.class_id),
        institution_id=str(e.institution_id),
        region_code=e.region_code,
        kind=KIND_PROTO[e.kind],
        title=e.title,
        bank_id=str(e.bank_id),
        bank_version=e.bank_version,
        time_limit_minutes=e.time_limit_seconds // 60,
        max_attempts=e.max_attempts,
        face_check_at_start=e.face_check_at_start,
        page_leave_limit=e.page_leave_limit,
        blueprint=[
            pb.BlueprintSection(
                type=_TYPE[s.type],
                topic=s.topic or "",
                difficulty=_DIFFICULTY[s.difficulty] if s.difficulty else pb.DIFFICULTY_UNSPECIFIED,
                count=s.count,
                points=_points(s.points),
            )
            for s in e.sections
        ],
        question_count=e.question_count,
        max_points=_points(e.max_points),
        pass_mark=_points(e.pass_mark),
        rulebook_version=e.rulebook_version,
        created_by=e.created_by,
        created_at=timestamp(e.created_at),
    )


def paper_pb(p: PaperView) -> pb.Paper:
    return pb.Paper(
        questions=[
            pb.PaperQuestion(
                position=q.position,
                type=_TYPE[q.type],
                topic=q.topic,
                stem=q.stem,
                options=q.options,
                points=_points(q.points),
            )
            for q in p.questions
        ],
        max_points=_points(p.max_points),
    )


def attempt_pb(a: AttemptView) -> pb.Attempt:
    graded = a.status == GRADED
    return pb.Attempt(
        attempt_id=a.attempt_id,
        exam_id=a.exam_id,
        kind=KIND_PROTO[a.kind],
        class_id=a.class_id,
        enrollment_id=a.enrollment_id,
        trainee_id=a.trainee_id,
        institution_id=a.institution_id,
        region_code=a.region_code,
        number=a.number,
        status=_ATTEMPT_STATUS[a.status],
        started_at=timestamp(a.started_at),
        deadline=timestamp(a.deadline),
        submitted_at=timestamp(a.submitted_at),
        cause=CAUSE_PROTO[Cause(a.cause)] if a.cause else events.SUBMISSION_CAUSE_UNSPECIFIED,
        score=_points(a.score) if graded else 0.0,
        max_points=_points(a.max_points),
        pass_mark=_points(a.pass_mark),
        passed=a.passed,
        topics=[
            events.TopicScore(
                topic_id=t.topic_id,
                topic_code=t.topic_code,
                points=_points(t.points),
                max_points=_points(t.max_points),
            )
            for t in a.topics
        ],
        answered=a.answered,
        page_leaves=a.page_leaves,
        start_face_check_id=a.start_face_check_id,
        seed=a.seed,
        bank_version=a.bank_version,
        graded_at=timestamp(a.graded_at),
    )


def answer_pb(a: AnswerView) -> pb.SavedAnswer:
    return pb.SavedAnswer(
        position=a.position,
        selected=a.selected,
        revision=a.revision,
        verdict=_VERDICT[a.verdict] if a.verdict else pb.ANSWER_VERDICT_UNSPECIFIED,
    )


def _detail(d: AttemptDetail) -> dict[str, object]:
    return {"attempt": attempt_pb(d.attempt), "paper": paper_pb(d.paper), "answers": [answer_pb(a) for a in d.answers]}


class ExamsServicer(exams_pb2_grpc.ExamsServiceServicer):
    def __init__(self, banks: Banks, exams: Exams, starts: Starts, answers: Answers, attempts: AttemptViews) -> None:
        self._banks = banks
        self._exams = exams
        self._starts = starts
        self._answers = answers
        self._attempts = attempts

    async def ImportBank(
        self, request: pb.ImportBankRequest, context: grpc.aio.ServicerContext
    ) -> pb.ImportBankResponse:
        bank, version = await self._banks.import_bank(require_principal(), request.content)
        return pb.ImportBankResponse(bank=bank_pb(bank), version=version)

    async def ReviewBankVersion(
        self, request: pb.ReviewBankVersionRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReviewBankVersionResponse:
        bank = await self._banks.review(
            require_principal(), request.bank_id, request.version, _DECISION.get(request.decision), request.comment
        )
        return pb.ReviewBankVersionResponse(bank=bank_pb(bank))

    async def GetBank(self, request: pb.GetBankRequest, context: grpc.aio.ServicerContext) -> pb.GetBankResponse:
        return pb.GetBankResponse(bank=bank_pb(await self._banks.get(require_principal(), request.bank_id)))

    async def ListBanks(self, request: pb.ListBanksRequest, context: grpc.aio.ServicerContext) -> pb.ListBanksResponse:
        qualification: QualificationType | None = None
        if request.qualification_type:
            qualification = qualification_from_proto(request.qualification_type)
        found = await self._banks.list(
            require_principal(), request.page.page_size, request.page.page_token, qualification
        )
        return pb.ListBanksResponse(banks=[bank_pb(b) for b in found.items], next_page_token=found.next_page_token)

    async def ExportBank(
        self, request: pb.ExportBankRequest, context: grpc.aio.ServicerContext
    ) -> pb.ExportBankResponse:
        content, version = await self._banks.export(require_principal(), request.bank_id, request.version)
        return pb.ExportBankResponse(content=content, version=version)

    async def CreateExam(
        self, request: pb.CreateExamRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateExamResponse:
        new = NewExam(
            class_id=request.class_id,
            kind=_KIND_BACK.get(request.kind),
            title=request.title,
            bank_id=request.bank_id,
            bank_version=request.bank_version,
            time_limit_minutes=request.time_limit_minutes,
            max_attempts=request.max_attempts,
            face_check_at_start=request.face_check_at_start if request.HasField("face_check_at_start") else None,
            blueprint=[
                SectionInput(
                    type=_TYPE_BACK.get(s.type),
                    topic=s.topic,
                    difficulty=_DIFFICULTY_BACK.get(s.difficulty),
                    count=s.count,
                    points=s.points,
                )
                for s in request.blueprint
            ],
        )
        return pb.CreateExamResponse(exam=exam_pb(await self._exams.create(require_principal(), new)))

    async def GetExam(self, request: pb.GetExamRequest, context: grpc.aio.ServicerContext) -> pb.GetExamResponse:
        return pb.GetExamResponse(exam=exam_pb(await self._exams.get(require_principal(), request.exam_id)))

    async def ListExams(self, request: pb.ListExamsRequest, context: grpc.aio.ServicerContext) -> pb.ListExamsResponse:
        found = await self._exams.list(
            require_principal(),
            request.page.page_size,
            request.page.page_token,
            request.class_id,
            _KIND_BACK.get(request.kind),
        )
        return pb.ListExamsResponse(exams=[exam_pb(e) for e in found.items], next_page_token=found.next_page_token)

    async def PreviewPaper(
        self, request: pb.PreviewPaperRequest, context: grpc.aio.ServicerContext
    ) -> pb.PreviewPaperResponse:
        paper, seed = await self._exams.preview(require_principal(), request.exam_id, request.seed)
        return pb.PreviewPaperResponse(paper=paper_pb(paper), seed=seed)

    async def StartAttempt(
        self, request: pb.StartAttemptRequest, context: grpc.aio.ServicerContext
    ) -> pb.StartAttemptResponse:
        started = await self._starts.start(require_principal(), request.exam_id, request.face_image)
        return pb.StartAttemptResponse(
            attempt=attempt_pb(started.attempt),
            paper=paper_pb(started.paper),
            answers=[answer_pb(a) for a in started.answers],
            resumed=started.resumed,
        )

    async def SaveAnswer(
        self, request: pb.SaveAnswerRequest, context: grpc.aio.ServicerContext
    ) -> pb.SaveAnswerResponse:
        answer, applied = await self._answers.save(
            require_principal(), request.attempt_id, request.position, request.selected, request.revision
        )
        return pb.SaveAnswerResponse(answer=answer_pb(answer), applied=applied)

    async def RecordPageLeave(
        self, request: pb.RecordPageLeaveRequest, context: grpc.aio.ServicerContext
    ) -> pb.RecordPageLeaveResponse:
        left = await self._answers.record_page_leave(
            require_principal(),
            request.attempt_id,
            from_timestamp(request.client_time) if request.HasField("client_time") else None,
        )
        return pb.RecordPageLeaveResponse(attempt=attempt_pb(left.attempt), submitted=left.submitted)

    async def SubmitAttempt(
        self, request: pb.SubmitAttemptRequest, context: grpc.aio.ServicerContext
    ) -> pb.SubmitAttemptResponse:
        detail = await self._answers.submit(require_principal(), request.attempt_id)
        return pb.SubmitAttemptResponse(
            attempt=attempt_pb(detail.attempt), answers=[answer_pb(a) for a in detail.answers]
        )

    async def GetAttempt(
        self, request: pb.GetAttemptRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetAttemptResponse:
        return pb.GetAttemptResponse(**_detail(await self._attempts.get(require_principal(), request.attempt_id)))

    async def ListAttempts(
        self, request: pb.ListAttemptsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAttemptsResponse:
        found = await self._attempts.list(
            require_principal(),
            request.page.page_size,
            request.page.page_token,
            exam_id=request.exam_id,
            class_id=request.class_id,
            trainee_id=request.trainee_id,
        )
        return pb.ListAttemptsResponse(
            attempts=[attempt_pb(a) for a in found.items], next_page_token=found.next_page_token
        )
