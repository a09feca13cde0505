"""Answer keys never leave the server. A scenario calls every RPC of the service as every kind of
caller and records every response message (and every error status); each one is inspected:

- no message type any RPC returns has a field that could carry a key (correct..., ...key, solution);
- no response but ExportBank (the bank owner's copy of what it imported) holds the bank file's
  answer encoding, and ExportBank does;
- every question shown carries exactly its stem, its options in the shown order, type, topic,
  position and points, and nothing else;
- mock and final answers never carry a verdict (practice gives one, on the trainee's own choice);
- the paper shown does not depend on the keys at all: a bank identical but for its keys gives the
  identical paper for the same seed.
"""

from __future__ import annotations

import json
import re
import uuid

import grpc
from google.protobuf import descriptor_pool
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from training.common.v1 import common_pb2 as R
from training.exams.v1 import exams_events_pb2 as ev
from training.exams.v1 import exams_pb2 as pb
from training.exams.v1 import exams_pb2_grpc
from training_exams.sample import sample_bank, section
from training_exams.testing import ExamOffice
from training_runtime.clients import insecure_channel
from training_testkit.rpc import rpc_failure

from .conftest import answer_all

SERVICE = "training.exams.v1.ExamsService"
KEY_LIKE = re.compile(r"correct|(^|_)keys?($|_)|solution|right_")
SHOWN_QUESTION_FIELDS = {"position", "type", "topic", "stem", "options", "points"}


class Recorder(grpc.aio.UnaryUnaryClientInterceptor):
    """Keeps every response message and every error status the channel receives."""

    def __init__(self) -> None:
        self.responses: list[tuple[str, Message, Message]] = []
        self.errors: list[tuple[str, str, bytes]] = []

    async def intercept_unary_unary(self, continuation, client_call_details, request):  # type: ignore[no-untyped-def]
        method = client_call_details.method
        method = (method.decode() if isinstance(method, bytes) else method).rsplit("/", 1)[-1]
        call = await continuation(client_call_details, request)
        try:
            self.responses.append((method, request, await call))
        except grpc.aio.AioRpcError as exc:
            trailers = b"".join(v for _, v in exc.trailing_metadata() or () if isinstance(v, bytes))
            self.errors.append((method, exc.details() or "", trailers))
        return call


def rekeyed(content: bytes) -> bytes:
    """The bank with every answer key changed (and its own code): what the keys must not influence."""
    document = json.loads(content)
    document["code"] = f"rekeyed-{uuid.uuid4().hex[:6]}"
    for q in document["questions"]:
        if q["type"] == "true_false":
            q["answer"] = not q["answer"]
        elif q["type"] == "single":
            letters = "ABCDEFGH"[: len(q["options"])]
            q["answer"] = letters[(letters.index(q["answer"]) + 1) % len(letters)]
        else:
            letters = "ABCDEFGH"[: len(q["options"])]
            rest = "".join(ch for ch in letters if ch not in q["answer"])
            q["answer"] = rest if len(rest) >= 2 else letters[:2] if q["answer"] != letters[:2] else letters[1:3]
    return json.dumps(document, ensure_ascii=False).encode()


def response_types() -> set[Descriptor]:
    """Every message type reachable from the service's responses (except ExportBank's)."""
    service = descriptor_pool.Default().FindServiceByName(SERVICE)
    pending = [m.output_type for m in service.methods if m.name != "ExportBank"]
    seen: set[Descriptor] = set()
    while pending:
        descriptor = pending.pop()
        if descriptor in seen:
            continue
        seen.add(descriptor)
        pending += [f.message_type for f in descriptor.fields if f.type == FieldDescriptor.TYPE_MESSAGE]
    return seen


def walk(message: Message) -> list[Message]:
    found = [message]
    for field, value in message.ListFields():
        if field.type != FieldDescriptor.TYPE_MESSAGE:
            continue
        for item in value if field.is_repeated else [value]:
            found += walk(item)
    return found


def test_no_response_type_has_a_field_for_answer_keys() -> None:
    fields = {f"{d.full_name}.{f.name}" for d in response_types() for f in d.fields}

    assert fields
    assert [f for f in fields if KEY_LIKE.search(f.rsplit(".", 1)[1])] == []


async def test_no_response_of_any_rpc_carries_answer_keys(exams_app, exam_office, campus, people, keys) -> None:  # type: ignore[no-untyped-def]
    recorder = Recorder()
    channel = insecure_channel(f"127.0.0.1:{exams_app.port}", interceptors=[recorder])
    office = ExamOffice(exams_pb2_grpc.ExamsServiceStub(channel), campus, people)
    stub = office.stub
    operator = people.operator
    try:
        platform = await exam_office.platform_bank()
        where = await office.exam_class()
        admin, staff = where.admin, where.school_class.school.staff
        imported = await stub.ImportBank(pb.ImportBankRequest(content=rekeyed(sample_bank())), metadata=staff.metadata)
        await stub.ReviewBankVersion(
            pb.ReviewBankVersionRequest(
                bank_id=imported.bank.bank_id, version=1, decision=pb.REVIEW_DECISION_APPROVE, comment="通过"
            ),
            metadata=operator.metadata,
        )
        other_keys = (
            await stub.GetBank(pb.GetBankRequest(bank_id=imported.bank.bank_id), metadata=staff.metadata)
        ).bank
        await stub.ListBanks(pb.ListBanksRequest(), metadata=admin.metadata)
        exported = await stub.ExportBank(pb.ExportBankRequest(bank_id=platform.bank_id), metadata=operator.metadata)

        mock = await office.define(where, ev.EXAM_KIND_MOCK, bank=platform)
        same_but_rekeyed = await office.define(where, ev.EXAM_KIND_MOCK, bank=other_keys)
        practice = await office.define(
            where, ev.EXAM_KIND_PRACTICE, blueprint=[section(pb.QUESTION_TYPE_MULTIPLE_CHOICE, 3, 1)]
        )
        await stub.GetExam(pb.GetExamRequest(exam_id=mock.exam_id), metadata=admin.metadata)
        await stub.ListExams(pb.ListExamsRequest(class_id=where.class_id), metadata=admin.metadata)

        trainee, _ = await office.enrolled(where)
        started = await office.start(trainee, mock)
        await answer_all(office, trainee, started, keys.right)
        await office.save(trainee, started.attempt.attempt_id, 0, keys.wrong(started.paper.questions[0]), revision=2)
        await rpc_failure(office.save(trainee, started.attempt.attempt_id, 0, [9], revision=3))  # an error status
        await stub.RecordPageLeave(
            pb.RecordPageLeaveRequest(attempt_id=started.attempt.attempt_id), metadata=trainee.metadata
        )
        await stub.GetAttempt(pb.GetAttemptRequest(attempt_id=started.attempt.attempt_id), metadata=trainee.metadata)
        await office.submit(trainee, started.attempt.attempt_id)
        drill = await office.start(trainee, practice)
        await answer_all(office, trainee, drill, keys.partial)
        await office.submit(trainee, drill.attempt.attempt_id)
        regulator = await people.account(R.ROLE_REGULATOR, region_code="440000")
        for viewer in (trainee, admin, regulator):
            await stub.ListAttempts(pb.ListAttemptsRequest(exam_id=mock.exam_id), metadata=viewer.metadata)
            await stub.GetAttempt(pb.GetAttemptRequest(attempt_id=started.attempt.attempt_id), metadata=viewer.metadata)
        seed = started.attempt.seed
        previews = [
            await stub.PreviewPaper(pb.PreviewPaperRequest(exam_id=e.exam_id, seed=seed), metadata=admin.metadata)
            for e in (mock, same_but_rekeyed)
        ]
    finally:
        await channel.close()

    called = {method for method, _, _ in recorder.responses}
    assert called == {m.name for m in descriptor_pool.Default().FindServiceByName(SERVICE).methods}

    # The one response that holds keys is the owner's export, in the import format.
    assert '"answer"' in exported.content.decode()
    practice_attempt = drill.attempt.attempt_id
    verdicts = set()
    for method, request, response in recorder.responses:
        if method == "ExportBank":
            continue
        assert b'"answer"' not in response.SerializeToString(), method
        practice = _concerns(request, response) == practice_attempt
        for message in walk(response):
            if isinstance(message, pb.PaperQuestion):
                assert {f.name for f, _ in message.ListFields()} <= SHOWN_QUESTION_FIELDS, method
                assert sorted(message.options) == sorted(keys.options[message.stem]), method
            if isinstance(message, pb.SavedAnswer):
                if practice:
                    verdicts.add(message.verdict)
                else:
                    assert message.verdict == pb.ANSWER_VERDICT_UNSPECIFIED, method
    assert verdicts == {pb.ANSWER_VERDICT_PARTIAL}
    for method, details, trailers in recorder.errors:
        assert '"answer"' not in details, method
        assert b'"answer"' not in trailers, method

    # Non-interference: the keys play no part in what the trainee is shown.
    assert previews[0].paper == previews[1].paper == started.paper


def _concerns(request: Message, response: Message) -> str:
    """The attempt a request or its response is about ("" if none)."""
    attempt = getattr(response, "attempt", None)
    if isinstance(attempt, pb.Attempt):
        return attempt.attempt_id
    return getattr(request, "attempt_id", "")
