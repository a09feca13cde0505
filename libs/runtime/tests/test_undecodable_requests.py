"""Requests whose wire data does not decode are refused with INVALID_ARGUMENT naming the field and the
reason REQUEST_UNDECODABLE (found by fuzzing: gRPC answered UNKNOWN with the parser's exception), and
only after the caller is authenticated."""

from __future__ import annotations

import grpc
import pytest

from training.identity.v1 import identity_pb2 as pb
from training_runtime.server.wire import first_problem
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
