"""Requests whose wire data does not decode are refused with INVALID_ARGUMENT naming the field and the
reason REQUEST_UNDECODABLE (found by fuzzing: gRPC answered UNKNOWN with the parser's exception), and
only after the caller is authenticated; a list over the platform's limit is refused before a handler
spends seconds on it, and an answer naming thousands of bad items stays small (found by fuzzing:
a million empty syllabus topics ran past any deadline); NUL characters and impossible timestamps are
refused naming the field (found by fuzzing: they escaped from PostgreSQL and datetime as INTERNAL)."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from training.identity.v1 import identity_pb2 as pb
from training.identity.v1.identity_pb2_grpc import IdentityServiceStub
from training.learning.v1 import learning_pb2 as lpb
from training_runtime.errors import FieldViolation, InvalidArgument
from training_runtime.server.status import to_status
from training_runtime.server.wire import MAX_LIST_ITEMS, first_problem
from training_testkit.rpc import rpc_failure


def raw_call(channel: grpc.aio.Channel, method: str) -> grpc.aio.UnaryUnaryMultiCallable:
    return channel.unary_unary(
        f"/training.identity.v1.IdentityService/{method}",
        request_serializer=lambda data: data,
        response_deserializer=lambda data: data,
    )


@pytest.mark.parametrize(
    ("wire", "field", "description"),
    [
        (b"\x0a\x03\xff\xfe\xfd", "login", "is not valid UTF-8"),
        (b"\x0a\x10abc", "login", "ends inside a length-delimited value"),
        (b"\x0b" * 5000 + b"\x0c" * 5000, "login", "nests groups more than 100 levels deep"),
        (b"\x12\x02ok\x0f", "login", "invalid wire type 7"),
        (b"\x12\x02ok\x80", "request", "ends inside a varint"),
    ],
    ids=["invalid-utf8", "truncated", "deep-groups", "bad-wire-type", "cut-varint"],
)
async def test_undecodable_request_names_the_field(identity_channel, wire: bytes, field: str, description: str) -> None:
    failure = await rpc_failure(raw_call(identity_channel, "Login")(wire), grpc.StatusCode.INVALID_ARGUMENT)
    assert failure.reason == "REQUEST_UNDECODABLE"
    assert failure.fields == (field,)
    assert description in failure.message


async def test_undecodable_request_without_a_token_is_unauthenticated_first(identity_channel) -> None:
    await rpc_failure(raw_call(identity_channel, "ListUsers")(b"\x0a\x02\xc3\x28"), grpc.StatusCode.UNAUTHENTICATED)


async def test_invalid_utf8_in_a_nested_message_names_the_nested_field(identity_channel) -> None:
    employer = b"\x0a\x03\xe4\xb8\x80" + b"\x0a\x02\xc3\x28"  # name: one good character, then a bad one
    valid = pb.RegisterTraineeRequest(display_name="张伟").SerializeToString()
    wire = valid + b"\x22" + bytes([len(employer)]) + employer
    failure = await rpc_failure(raw_call(identity_channel, "RegisterTrainee")(wire), grpc.StatusCode.INVALID_ARGUMENT)
    assert failure.fields == ("employer.name",)


def test_a_valid_message_has_no_problem() -> None:
    request = pb.RegisterTraineeRequest(display_name="张伟", employer=pb.Employer(name="广州化工"))
    assert first_problem(pb.RegisterTraineeRequest.DESCRIPTOR, request.SerializeToString()) is None


async def test_a_list_over_the_platform_limit_is_refused_before_any_handler(identity_channel, people) -> None:
    request = pb.RegisterInstitutionRequest(name="安全培训学校", operation_types=["x"] * (MAX_LIST_ITEMS + 1))
    failure = await rpc_failure(
        IdentityServiceStub(identity_channel).RegisterInstitution(request, metadata=people.operator.metadata),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert failure.fields == ("operation_types",)
    assert f"at most {MAX_LIST_ITEMS}" in failure.message


def test_an_answer_with_thousands_of_violations_stays_small() -> None:
    error = InvalidArgument([FieldViolation(f"topics[{i}].code", "is required") for i in range(100_000)])
    assert error.message.endswith("; and 99990 more")
    code, status = to_status(error, domain="training.test")
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert len(status.SerializeToString()) < 10_000


async def test_nul_characters_are_refused_naming_the_field(identity_channel, people) -> None:
    # Found by fuzzing: PostgreSQL cannot store NUL, and the database's refusal escaped as INTERNAL.
    stub = IdentityServiceStub(identity_channel)
    failure = await rpc_failure(
        stub.Login(pb.LoginRequest(login="\x00", password="x")), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert failure.fields == ("login",)
    request = pb.RegisterInstitutionRequest(name="安全培训学校", operation_types=["ok", "electrical\x00"])
    failure = await rpc_failure(
        stub.RegisterInstitution(request, metadata=people.operator.metadata), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert failure.fields == ("operation_types[1]",)


@pytest.mark.parametrize(
    ("seconds", "nanos"), [(253_402_300_800, 0), (-(2**63), 0), (0, -1), (0, 1_000_000_000)], ids=str
)
async def test_impossible_timestamps_are_refused_naming_the_field(
    learning_stub, people, seconds: int, nanos: int
) -> None:
    # Found by fuzzing: converting them to a datetime raised, and the error escaped as INTERNAL.
    trainee = await people.trainee()
    heartbeat = lpb.Heartbeat(session_id="x", sequence=1, client_time=Timestamp(seconds=seconds, nanos=nanos))
    failure = await rpc_failure(
        learning_stub.SendHeartbeat(lpb.SendHeartbeatRequest(heartbeat=heartbeat), metadata=trainee.metadata),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert failure.fields == ("heartbeat.client_time",)
