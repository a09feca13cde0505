"""What every route needs: the caller's bearer token (passed through, never checked here), the
services, the client's address for rate limits, and request-body building blocks."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from training_gateway.problems import documented_errors
from training_gateway.protojson import model_of, to_json
from training_gateway.upstream import Upstreams

_bearer = HTTPBearer(auto_error=False, description="An access token from POST /api/v1/sessions (identity).")


# RFC 6750 b64token: what a bearer token may be made of (an access token is a JWT: base64url and dots).
_B64TOKEN = re.compile(r"[A-Za-z0-9._~+/-]+=*")
_MAX_TOKEN = 8192


class BadToken(Exception):
    """A bearer credential that cannot be a token (answered 401 without calling a service)."""


def authorization(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str | None:
    """The caller's `Authorization` header value, for the services to verify. Only a well-formed
    token is passed on: gRPC metadata carries printable ASCII only."""
    if credentials is None:
        return None
    token = credentials.credentials
    if len(token) > _MAX_TOKEN or not _B64TOKEN.fullmatch(token):
        raise BadToken
    return f"Bearer {token}"


Auth = Annotated[str | None, Depends(authorization)]


def upstreams(request: Request) -> Upstreams:
    return request.app.state.upstreams  # type: ignore[no-any-return]


Services = Annotated[Upstreams, Depends(upstreams)]


def client_address(request: Request) -> str:
    """The client for rate limits: the first X-Forwarded-For hop behind a trusted proxy, else the peer."""
    if request.app.state.settings.trust_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for", "")
        first = forwarded.split(",")[0].strip()
        if first:
            return first
    return request.client.host if request.client else "unknown"


def _utf8(value: str) -> str:
    # JSON may carry lone surrogates, which no protobuf string field can hold.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


Text = Annotated[str, AfterValidator(_utf8)]
Int32 = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
PageSize = Annotated[int, Field(ge=0, le=200, description="1 to 200; 0 means the default of 50.")]
# Every record id in a path (users, classes, sessions, exams, certificates, ...) is a UUID.
Id = Annotated[str, Path(pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]


def enum_names(enum_type: Any) -> Any:
    """A Literal of a protobuf enum's value names (without the UNSPECIFIED zero), for parameters."""
    return Literal[tuple(v.name for v in enum_type.DESCRIPTOR.values if v.number != 0)]  # type: ignore[misc]


class Body(BaseModel):
    """A request body: unknown members, NaN and infinities are refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


# Problems every authenticated route may answer, on top of its own.
COMMON_ERRORS = (400, 401, 403, 404, 409, 413, 429, 502, 503, 504)


def answers(message_type: Any) -> dict[str, Any]:
    """Route options for an answer that is the JSON form of `message_type`, plus documented problems."""
    return {"response_model": model_of(message_type.DESCRIPTOR), "responses": documented_errors(*COMMON_ERRORS)}


__all__ = ["Auth", "Body", "Id", "Int32", "Int64", "PageSize", "Services", "Text", "answers", "enum_names", "to_json"]
