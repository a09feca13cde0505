"""The server interceptor every service runs: a server span continuing the caller's trace,
authentication, the access policy, error mapping, access logs (with trace ids) and per-RPC metrics.

One interceptor does all of it because every call pays for it: the generic OpenTelemetry gRPC
interceptor cost more per call than the rest together, and wrapping handlers twice costs again.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
from google.protobuf.message import Message
from opentelemetry import context as otel_context
from opentelemetry import metrics, propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from training_runtime import errors
from training_runtime.auth.commands import REGULATOR_COMMAND_HEADER, acting_for_command
from training_runtime.auth.policy import AccessPolicy, Rule
from training_runtime.auth.principal import Principal, reset_principal, set_principal
from training_runtime.auth.tokens import TokenVerifier
from training_runtime.db import database_unavailable
from training_runtime.server.status import to_status, trailing_metadata
from training_runtime.server.wire import Undecodable, refusal, tolerant

access_log = logging.getLogger("training.access")
log = logging.getLogger(__name__)

_meter = metrics.get_meter("training_runtime.rpc")
# One histogram carries rate (its count), errors (by status code) and duration.
_duration = _meter.create_histogram(
    "rpc.server.duration", unit="ms", description="Duration of each RPC, by method and status code"
)


def _unavailable_from(exc: BaseException) -> errors.DomainError | None:
    """Infrastructure failures that escaped the unit of work still deserve an honest status."""
    if isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in {"40001", "40P01"}:
        return errors.Aborted("a concurrent change conflicted with this one; retry")
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout | ConnectionError | OSError):
        return errors.Unavailable("a dependency is not available; retry shortly")
    if database_unavailable(exc):  # the driver's own, from code that uses asyncpg directly
        return errors.Unavailable("the database is not available; retry shortly")
    return None


_INFRASTRUCTURE = ("/grpc.health.", "/grpc.reflection.")
_TRACE_HEADERS = ("traceparent", "tracestate")
_tracer = trace.get_tracer("training_runtime.rpc")


class ServiceInterceptor(grpc.aio.ServerInterceptor):
    def __init__(
        self,
        *,
        service: str,
        policy: AccessPolicy,
        verifier: TokenVerifier,
        access_log: str = "errors",
        access_log_slow_ms: float = 1000.0,
    ) -> None:
        self._service = service
        self._policy = policy
        self._verifier = verifier
        self._access_log = access_log
        self._access_log_slow_ms = access_log_slow_ms
        self._domain = f"training.{service}"

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Any],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method: str = handler_call_details.method  # type: ignore[attr-defined]
        if method.startswith(_INFRASTRUCTURE):
            return handler
        rule = self._policy.rule_for(method)
        kwargs = {
            # A request that does not decode reaches the wrapper as an `Undecodable` (server/wire.py).
            "request_deserializer": tolerant(handler.request_deserializer),
            "response_serializer": handler.response_serializer,
        }
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(self._unary(method, rule, handler.unary_unary), **kwargs)
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(self._unary(method, rule, handler.stream_unary), **kwargs)
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(self._streaming(method, rule, handler.unary_stream), **kwargs)
        return grpc.stream_stream_rpc_method_handler(self._streaming(method, rule, handler.stream_stream), **kwargs)

    def _unary(self, method: str, rule: Rule | None, behavior: Callable[..., Any]) -> Callable[..., Any]:
        async def wrapper(request: Any, context: grpc.aio.ServicerContext) -> Any:
            call = _Call(self, method, context)
            token = await call.enter(rule)
            try:
                return await behavior(_decoded(request), context)
            except BaseException as exc:
                await call.fail(exc)
                raise
            finally:
                call.exit(token)

        return wrapper

    def _streaming(self, method: str, rule: Rule | None, behavior: Callable[..., Any]) -> Callable[..., Any]:
        async def wrapper(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            call = _Call(self, method, context)
            token = await call.enter(rule)
            try:
                result = behavior(_decoded(request), context)
                if inspect.isasyncgen(result):
                    async for item in result:
                        yield item
                else:
                    await result
            except BaseException as exc:
                await call.fail(exc)
                raise
            finally:
                call.exit(token)

        return wrapper

    async def authenticate(self, rule: Rule | None, context: grpc.aio.ServicerContext, method: str) -> Principal | None:
        token = command = None
        authorization_seen = False
        for key, value in context.invocation_metadata() or ():
            if key == "authorization" and not authorization_seen:
                authorization_seen = True
                scheme, _, credential = str(value).partition(" ")
                if scheme.lower() == "bearer" and credential.strip():
                    token = credential.strip()
            elif key == REGULATOR_COMMAND_HEADER:
                command = str(value)
        if rule is None:
            raise errors.PermissionDenied("this method is not open to any caller")
        if rule.public:
            if token is None:
                return None
            try:
                return await self._verifier.verify(token)
            except errors.Unauthenticated:
                return None  # public methods never depend on who calls
        if token is None:
            raise errors.Unauthenticated("this method needs an access token (authorization: Bearer <token>)")
        principal = await self._verifier.verify(token)
        if not rule.permits(principal.role):
            raise errors.PermissionDenied(f"role {principal.role.value} may not call {method.rsplit('/', 1)[-1]}")
        if command is not None:
            # Supervision relaying a regulator command: the call acts as the command (auth/commands.py).
            return acting_for_command(principal, command)
        return principal


def _decoded(request: Any) -> Any:
    """The request, refusing one that did not decode or holds what no RPC accepts (server/wire.py);
    a request stream refuses its first such message."""
    if hasattr(request, "__aiter__"):
        return _decoded_stream(request)
    _refuse_bad(request)
    return request


def _refuse_bad(request: Any) -> None:
    if isinstance(request, Undecodable):
        raise request.error()
    if isinstance(request, Message) and (refused := refusal(request)):
        raise refused


async def _decoded_stream(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
    async for request in requests:
        _refuse_bad(request)
        yield request


# Statuses that mean the server failed (the others are answers about the request).
_SERVER_FAULTS = frozenset(
    {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DATA_LOSS}
)


class _Call:
    """Book-keeping for one call: principal, timing, final status."""

    __slots__ = ("code", "context", "interceptor", "method", "principal", "span", "started", "trace_token")

    def __init__(self, interceptor: ServiceInterceptor, method: str, context: grpc.aio.ServicerContext) -> None:
        self.interceptor = interceptor
        self.method = method
        self.context = context
        self.started = time.perf_counter()
        self.code = grpc.StatusCode.OK
        self.principal: Principal | None = None
        carrier = {key: value for key, value in context.invocation_metadata() or () if key in _TRACE_HEADERS}
        self.span = _tracer.start_span(
            method.lstrip("/"),
            context=propagate.extract(carrier) if carrier else None,
            kind=SpanKind.SERVER,
            attributes={"rpc.system": "grpc", "rpc.service": interceptor._service, "rpc.method": method},
        )
        self.trace_token = otel_context.attach(trace.set_span_in_context(self.span))

    async def enter(self, rule: Rule | None) -> Any:
        try:
            self.principal = await self.interceptor.authenticate(rule, self.context, self.method)
        except errors.DomainError as exc:
            token = set_principal(None)
            await self._abort(exc, token)
        return set_principal(self.principal)

    async def _abort(self, exc: errors.DomainError, token: Any) -> None:
        try:
            await self.fail(exc)
        finally:
            self.exit(token)

    async def fail(self, exc: BaseException) -> None:
        if isinstance(exc, grpc.aio.AbortError):
            self.code = self.context.code() or grpc.StatusCode.UNKNOWN  # type: ignore[assignment]
            return
        domain_error = exc if isinstance(exc, errors.DomainError) else _unavailable_from(exc)
        if domain_error is None and not isinstance(exc, Exception):
            self.code = grpc.StatusCode.CANCELLED  # the client went away or the server is stopping
            return
        if domain_error is None:
            span = trace.get_current_span().get_span_context()
            reference = f"{span.trace_id:032x}" if span.is_valid else "none"
            log.error("unhandled error in %s (trace %s)", self.method, reference, exc_info=exc)
            self.code = grpc.StatusCode.INTERNAL
            await self.context.abort(grpc.StatusCode.INTERNAL, f"internal error; reference {reference}")
        code, status = to_status(domain_error, domain=self.interceptor._domain)
        self.code = code
        await self.context.abort(code, status.message, trailing_metadata=trailing_metadata(status))

    def exit(self, token: Any) -> None:
        try:
            self._record(token)
        finally:
            if self.code in _SERVER_FAULTS:
                self.span.set_status(Status(StatusCode.ERROR, self.code.name))
            self.span.set_attribute("rpc.grpc.status_code", self.code.value[0])
            self.span.end()
            otel_context.detach(self.trace_token)

    def _record(self, token: Any) -> None:
        reset_principal(token)
        elapsed_ms = (time.perf_counter() - self.started) * 1000
        attributes = {
            "rpc.service": self.interceptor._service,
            "rpc.method": self.method,
            "rpc.grpc.status_code": self.code.name,
        }
        _duration.record(elapsed_ms, attributes)
        mode = self.interceptor._access_log
        if mode == "all" or (
            mode == "errors"
            and (self.code is not grpc.StatusCode.OK or elapsed_ms >= self.interceptor._access_log_slow_ms)
        ):
            access_log.info(
                "%s %s %.1fms",
                self.method,
                self.code.name,
                elapsed_ms,
                extra={
                    "rpc_method": self.method,
                    "status": self.code.name,
                    "duration_ms": round(elapsed_ms, 2),
                    "principal": self.principal.subject if self.principal else None,
                    "role": self.principal.role.value if self.principal else None,
                    "peer": self.context.peer(),
                },
            )
