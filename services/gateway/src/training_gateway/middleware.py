"""ASGI middleware: request body limits, and the access log and per-route metrics every service has."""

from __future__ import annotations

import logging
import time
from typing import Any

from opentelemetry import metrics
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from training_gateway.problems import problem_response

access_log = logging.getLogger("training.access")

_meter = metrics.get_meter("training_gateway.http")
_duration = _meter.create_histogram("http.server.request.duration", unit="ms", description="Duration of each request")
_requests = _meter.create_counter("http.server.requests", description="Requests handled, by route and status")


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Refuses bodies over `max_bytes` with 413: at once by Content-Length, or while reading a chunked body."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413, detail=f"the request body exceeds {self.max_bytes} bytes", instance=scope.get("path", "")
        )
        await response(scope, receive, send)


class AccessLog:
    """One metric sample per request and, as the services do (ACCESS_LOG), a log line for every
    request, for failed (4xx, 5xx) and slow ones only, or none; with the route template, not the raw
    path."""

    def __init__(self, app: ASGIApp, *, mode: str = "errors", slow_ms: float = 1000.0) -> None:
        self.app = app
        self.mode = mode
        self.slow_ms = slow_ms

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            route = _route_of(scope)
            attributes = {
                "http.request.method": scope["method"],
                "http.route": route,
                "http.response.status_code": status,
            }
            _duration.record(elapsed, attributes)
            _requests.add(1, attributes)
            failed_or_slow = status >= 400 or elapsed >= self.slow_ms
            if route not in ("/healthz", "/readyz") and (
                self.mode == "all" or (self.mode == "errors" and failed_or_slow)
            ):
                access_log.info(
                    "%s %s %d %.1fms",
                    scope["method"],
                    scope["path"],
                    status,
                    elapsed,
                    extra={"route": route, "status": status, "duration_ms": round(elapsed, 1)},
                )


def _route_of(scope: dict[str, Any]) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"
