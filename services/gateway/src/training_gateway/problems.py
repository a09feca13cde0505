"""RFC 9457 problem details: every error the gateway answers is `application/problem+json`.

A service's gRPC status becomes an HTTP status, and its rich details become extension members:
`code` (the gRPC status name), `reason` (the google.rpc.ErrorInfo reason code, e.g.
`FACE_CHECK_FAILED`), `errors` (each bad field with what is wrong, from google.rpc.BadRequest) and
`retry_after_seconds` (google.rpc.RetryInfo). The gateway's own refusals (bad JSON, a body too
large, too many requests) use the same shape.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import grpc
from google.rpc import error_details_pb2
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse

from training_runtime.server.status import details_of, error_reason, field_violations

PROBLEM_JSON = "application/problem+json"

HTTP_STATUS_OF: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    # A rule forbids the call in the resource's present state (the reason code says which rule).
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.CANCELLED: 503,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    # The service failed, not the gateway: a bad gateway.
    grpc.StatusCode.INTERNAL: 502,
    grpc.StatusCode.UNKNOWN: 502,
    grpc.StatusCode.DATA_LOSS: 502,
}


class FieldProblem(BaseModel):
    field: str = Field(description="The request field, as the API names it (nested fields with dots).")
    detail: str


class Problem(BaseModel):
    """RFC 9457 problem details, with the platform's extension members."""

    type: str = Field(description="A URI naming the problem type (urn:training:problem:<reason>).")
    title: str
    status: int
    detail: str = ""
    instance: str = ""
    code: str = Field("", description="The gRPC status code name the service answered, if any.")
    reason: str = Field("", description="The rule that refused the request (ErrorInfo reason code), if any.")
    errors: list[FieldProblem] = Field(default_factory=list, description="Every bad field with what is wrong.")
    retry_after_seconds: float | None = None


def problem_response(
    status: int,
    *,
    detail: str = "",
    instance: str = "",
    code: str = "",
    reason: str = "",
    errors: dict[str, str] | None = None,
    retry_after_seconds: float | None = None,
) -> JSONResponse:
    slug = (reason or code or HTTPStatus(status).phrase).lower().replace("_", "-").replace(" ", "-")
    body: dict[str, Any] = Problem(
        type=f"urn:training:problem:{slug}",
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=instance,
        code=code,
        reason=reason,
        errors=[FieldProblem(field=f, detail=d) for f, d in (errors or {}).items()],
        retry_after_seconds=retry_after_seconds,
    ).model_dump(exclude_none=True)
    headers = {}
    if retry_after_seconds is not None:
        headers["Retry-After"] = str(max(1, round(retry_after_seconds)))
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _retry_delay(error: grpc.RpcError) -> float | None:
    status = details_of(error)
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            return info.retry_delay.seconds + info.retry_delay.nanos / 1e9
    return None


def from_rpc_error(error: grpc.aio.AioRpcError, *, instance: str) -> JSONResponse:
    """The problem for a service's gRPC error, naming the field or rule it named."""
    code = error.code()
    return problem_response(
        HTTP_STATUS_OF.get(code, 502),
        detail=error.details() or "",
        instance=instance,
        code=code.name,
        reason=error_reason(error) or "",
        errors=field_violations(error),
        retry_after_seconds=_retry_delay(error),
    )


def documented_errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the problems a route may answer."""
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
