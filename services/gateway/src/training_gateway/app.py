"""The gateway application: FastAPI routes over the services, the web app's files, and the
cross-cutting layers (telemetry, access log, body limit, CORS, problem details).

`create_app(settings)` is the composition root; nothing is wired at import time.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from starlette.exceptions import HTTPException as StarletteHTTPException

from training_archive import ArchiveBuilder, ServiceTargets
from training_gateway import problems
from training_gateway.archives import ExportJobs
from training_gateway.deps import BadToken
from training_gateway.middleware import AccessLog, BodyLimit
from training_gateway.ratelimit import RateLimited, RateLimiter
from training_gateway.routes import (
    accounts,
    archives,
    certificates,
    exams,
    face,
    media,
    study,
    system,
    training,
    web,
)
from training_gateway.settings import GatewaySettings
from training_gateway.upstream import Upstreams

log = logging.getLogger(__name__)
WEB = Path(__file__).parent / "web"
ROUTERS = [
    system.router,
    accounts.router,
    face.router,
    training.router,
    study.router,
    exams.router,
    certificates.router,
    archives.router,
    media.router,
    web.router,
]


def _field_name(location: tuple[Any, ...]) -> str:
    # ("body", "employer", "name") -> "employer.name"; ("query", "page_size") -> "page_size"
    return ".".join(str(part) for part in location[1:]) or str(location[0])


def _install_error_handlers(app: FastAPI) -> None:
    async def rpc_error(request: Request, exc: Exception) -> Any:
        assert isinstance(exc, grpc.aio.AioRpcError)
        return problems.from_rpc_error(exc, instance=request.url.path)

    async def invalid_request(request: Request, exc: Exception) -> Any:
        assert isinstance(exc, RequestValidationError)
        errors = {}
        for error in exc.errors():
            errors.setdefault(_field_name(tuple(error["loc"])), error["msg"])
        return problems.problem_response(
            400, detail="the request is invalid: " + ", ".join(errors), instance=request.url.path, errors=errors
        )

    async def http_error(request: Request, exc: Exception) -> Any:
        assert isinstance(exc, StarletteHTTPException)
        return problems.problem_response(exc.status_code, detail=str(exc.detail), instance=request.url.path)

    async def rate_limited(request: Request, exc: Exception) -> Any:
        assert isinstance(exc, RateLimited)
        return problems.problem_response(
            429,
            detail="too many requests from this client; retry later",
            instance=request.url.path,
            retry_after_seconds=exc.retry_after,
        )

    async def bad_token(request: Request, exc: Exception) -> Any:
        return problems.problem_response(
            401,
            detail="the bearer token is malformed",
            instance=request.url.path,
            code="UNAUTHENTICATED",
            reason="TOKEN_MALFORMED",
        )

    async def unexpected(request: Request, exc: Exception) -> Any:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problems.problem_response(500, detail="an unexpected error occurred", instance=request.url.path)

    app.add_exception_handler(Exception, unexpected)
    app.add_exception_handler(grpc.aio.AioRpcError, rpc_error)
    app.add_exception_handler(BadToken, bad_token)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RateLimited, rate_limited)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document with the gateway's conventions: problems instead of FastAPI's 422 shape."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for model in (problems.Problem, problems.FieldProblem):
        components[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            operation.get("responses", {}).pop("422", None)
    app.openapi_schema = schema
    return schema


def archive_exports(settings: GatewaySettings) -> ExportJobs:
    """Class archive exports, built with the caller's token against the same services."""
    targets = ServiceTargets(
        identity=settings.identity_url,
        courses=settings.courses_url,
        learning=settings.learning_url,
        exams=settings.exams_url,
        certificates=settings.certificates_url,
        supervision=settings.supervision_url,
    )
    rulebooks = [part.strip() for part in settings.archive_rulebooks.split(",") if part.strip()]
    builder = ArchiveBuilder(targets, rulebooks=rulebooks, timeout_seconds=settings.upstream_timeout_seconds)
    return ExportJobs(builder, max_running=settings.archive_max_running, keep_seconds=settings.archive_keep_seconds)


def create_app(settings: GatewaySettings, *, upstreams: Upstreams | None = None) -> FastAPI:
    services = upstreams or Upstreams(settings)
    exports = archive_exports(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services.open()
        try:
            yield
        finally:
            await exports.close()
            await services.close()

    app = FastAPI(
        title="Work-safety training platform gateway",
        version="1",
        description=(
            "REST/JSON over the platform's gRPC services for the trainee web app, the institution console "
            "and public certificate verification. Send `Authorization: Bearer <access token>`; the services "
            "check it. Every error is `application/problem+json` (RFC 9457) naming the field or rule."
        ),
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.upstreams = services
    app.state.archive_exports = exports
    app.state.media = settings.media
    app.state.draining = False
    app.state.limiters = {
        "login": RateLimiter(per_minute=settings.login_rate_per_minute, burst=settings.login_burst),
        "verify": RateLimiter(per_minute=settings.verify_rate_per_minute, burst=settings.verify_burst),
    }
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")
    _install_error_handlers(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    # Outermost first: traces wrap everything, then the access log, then the body limit, then CORS.
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(AccessLog, mode=settings.access_log, slow_ms=settings.access_log_slow_ms)
    app.add_middleware(OpenTelemetryMiddleware, excluded_urls="/healthz,/readyz,/static/.*")
    return app
