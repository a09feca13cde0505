"""Asserting gRPC failures: the status code and the rich details (field violations, reason code)."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

import grpc
from google.rpc import error_details_pb2

from training_runtime.server.status import details_of


@dataclass(frozen=True)
class Failure:
    code: grpc.StatusCode
    message: str
    # Field paths named by BadRequest violations.
    fields: tuple[str, ...]
    # ErrorInfo.reason, "" when the status carries none.
    reason: str
    metadata: dict[str, str]


async def rpc_failure(call: Awaitable[Any], code: grpc.StatusCode | None = None) -> Failure:
    """Await `call`, which must fail (with `code`, when given); return what the failure said."""
    try:
        await call
    except grpc.aio.AioRpcError as error:
        fields: list[str] = []
        reason, metadata = "", {}
        status = details_of(error)
        for detail in status.details if status else ():
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                fields.extend(v.field for v in bad.field_violations)
            elif detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason, metadata = info.reason, dict(info.metadata)
        failure = Failure(error.code(), error.details() or "", tuple(fields), reason, metadata)
        if code is not None and failure.code != code:
            raise AssertionError(f"expected {code.name}, got {failure.code.name}: {failure.message}") from error
        return failure
    raise AssertionError(f"the call succeeded; expected {code.name if code else 'a failure'}")
