"""Mapping domain errors to gRPC status codes with google.rpc rich error details.

Clients read the plain status message (it names the field or rule) or, for machines, the details in
the `grpc-status-details-bin` trailer: BadRequest field violations, ErrorInfo reason codes, RetryInfo.
"""

from __future__ import annotations

import grpc
from google.protobuf import duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from training_runtime import errors

DETAILS_KEY = "grpc-status-details-bin"


def _pack(status: status_pb2.Status, detail: object) -> None:
    status.details.add().Pack(detail)  # type: ignore[arg-type]


def to_status(exc: errors.DomainError, *, domain: str) -> tuple[grpc.StatusCode, status_pb2.Status]:
    status = status_pb2.Status(message=exc.message)
    if isinstance(exc, errors.InvalidArgument):
        code = grpc.StatusCode.INVALID_ARGUMENT
        _pack(
            status,
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                    for v in exc.violations[: errors.MAX_VIOLATIONS_IN_DETAILS]
                ]
            ),
        )
        if exc.reason:
            _pack(status, error_details_pb2.ErrorInfo(reason=exc.reason, domain=domain))
    elif isinstance(exc, errors.NotFound):
        code = grpc.StatusCode.NOT_FOUND
    elif isinstance(exc, errors.AlreadyExists):
        code = grpc.StatusCode.ALREADY_EXISTS
        if exc.field:
            _pack(
                status,
                error_details_pb2.ErrorInfo(reason="ALREADY_EXISTS", domain=domain, metadata={"field": exc.field}),
            )
    elif isinstance(exc, errors.FailedPrecondition):
        code = grpc.StatusCode.FAILED_PRECONDITION
        _pack(status, error_details_pb2.ErrorInfo(reason=exc.reason, domain=domain, metadata=exc.metadata))
    elif isinstance(exc, errors.PermissionDenied):
        code = grpc.StatusCode.PERMISSION_DENIED
    elif isinstance(exc, errors.Unauthenticated):
        code = grpc.StatusCode.UNAUTHENTICATED
        _pack(status, error_details_pb2.ErrorInfo(reason=exc.reason, domain=domain))
    elif isinstance(exc, errors.ResourceExhausted):
        code = grpc.StatusCode.RESOURCE_EXHAUSTED
        if exc.retry_after_seconds is not None:
            seconds = max(0.0, exc.retry_after_seconds)
            _pack(
                status,
                error_details_pb2.RetryInfo(
                    retry_delay=duration_pb2.Duration(seconds=int(seconds), nanos=int((seconds % 1) * 1e9))
                ),
            )
    elif isinstance(exc, errors.Aborted):
        code = grpc.StatusCode.ABORTED
    elif isinstance(exc, errors.Unavailable):
        code = grpc.StatusCode.UNAVAILABLE
    else:
        code = grpc.StatusCode.INTERNAL
    status.code = getattr(code_pb2, code.name)
    return code, status


def trailing_metadata(status: status_pb2.Status) -> tuple[tuple[str, bytes], ...]:
    return ((DETAILS_KEY, status.SerializeToString()),)


def details_of(error: grpc.RpcError) -> status_pb2.Status | None:
    """Client side: the rich status a failed call carried, if any."""
    for key, value in error.trailing_metadata() or ():  # type: ignore[attr-defined]
        if key == DETAILS_KEY:
            return status_pb2.Status.FromString(value)
    return None


def field_violations(error: grpc.RpcError) -> dict[str, str]:
    """Client side: {field: description} from a BadRequest detail."""
    status = details_of(error)
    found: dict[str, str] = {}
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            found.update({v.field: v.description for v in bad.field_violations})
    return found


def error_reason(error: grpc.RpcError) -> str | None:
    """Client side: the ErrorInfo reason code, if any."""
    status = details_of(error)
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.reason
    return None
