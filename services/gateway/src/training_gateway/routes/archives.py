"""Class archives (一期一档) for the institution console: start an export of one class, poll its
progress, download the ZIP (docs/gateway.md, docs/records.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import grpc
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from training_archive import ArchiveRefused
from training_gateway.archives import ExportJob, ExportJobs, TooManyExports
from training_gateway.deps import Auth, Id
from training_gateway.problems import HTTP_STATUS_OF, documented_errors, problem_response

router = APIRouter(prefix="/api/v1", tags=["archives"])


class ArchiveExport(BaseModel):
    export_id: str
    class_id: str
    state: Literal["running", "done", "failed"]
    step: int = Field(description="The step being worked on (1-based); 0 before the first.")
    steps: int
    what: str = Field(description="What the current step does.")
    started_at: datetime
    finished_at: datetime | None = None
    error_code: str = Field("", description="Why a failed export failed: a gRPC status name.")
    error_detail: str = ""
    size_bytes: int = 0
    notes: list[str] = Field(default_factory=list, description="What the archive says it could not include.")
    download: str = Field("", description="Where to download the ZIP once done.")


def _view(job: ExportJob) -> ArchiveExport:
    return ArchiveExport(
        export_id=job.export_id,
        class_id=job.class_id,
        state=job.state,  # type: ignore[arg-type]
        step=job.step,
        steps=job.steps,
        what=job.what,
        started_at=job.started_at,
        finished_at=job.finished_at,
        error_code=job.error_code,
        error_detail=job.error_detail,
        size_bytes=len(job.content),
        notes=job.notes,
        download=f"/api/v1/archive-exports/{job.export_id}/zip" if job.state == "done" else "",
    )


def _jobs(request: Request) -> ExportJobs:
    return request.app.state.archive_exports  # type: ignore[no-any-return]


def _unauthenticated(request: Request) -> Response:
    return problem_response(
        401,
        detail="sign in first: a class archive is exported with the caller's own access token",
        instance=request.url.path,
        code="UNAUTHENTICATED",
        reason="TOKEN_MISSING",
    )


def _refused(request: Request, exc: ArchiveRefused) -> Response:
    status = HTTP_STATUS_OF.get(grpc.StatusCode[exc.code], 502)
    return problem_response(status, detail=exc.detail, instance=request.url.path, code=exc.code, reason=exc.reason)


def _not_found(request: Request, export_id: str) -> Response:
    return problem_response(
        404, detail=f"no archive export {export_id} of the caller", instance=request.url.path, code="NOT_FOUND"
    )


def _token(auth: str) -> str:
    return auth.removeprefix("Bearer ")


@router.post(
    "/classes/{class_id}/archive-exports",
    summary="Start exporting a class's archive (the class's institution, a regulator of its region)",
    status_code=202,
    response_model=ArchiveExport,
    responses=documented_errors(400, 401, 403, 404, 429, 502, 503, 504),
)
async def start_archive_export(class_id: Id, request: Request, auth: Auth):
    if auth is None:
        return _unauthenticated(request)
    try:
        job = await _jobs(request).start(class_id, _token(auth))
    except ArchiveRefused as exc:
        return _refused(request, exc)
    except TooManyExports:
        return problem_response(
            429,
            detail="every export slot of this gateway is busy; retry later",
            instance=request.url.path,
            reason="ARCHIVE_EXPORTS_BUSY",
            retry_after_seconds=10,
        )
    return _view(job)


@router.get(
    "/archive-exports/{export_id}",
    summary="The progress of one of the caller's archive exports",
    response_model=ArchiveExport,
    responses=documented_errors(400, 401, 404, 503),
)
async def archive_export(export_id: Id, request: Request, auth: Auth):
    if auth is None:
        return _unauthenticated(request)
    try:
        job = await _jobs(request).get(export_id, _token(auth))
    except ArchiveRefused as exc:
        return _refused(request, exc)
    return _view(job) if job is not None else _not_found(request, export_id)


@router.get(
    "/archive-exports/{export_id}/zip",
    summary="Download a finished archive export (ZIP: archive.json, summary.pdf, snapshots, manifest.json)",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}, **documented_errors(400, 401, 404, 409, 503)},
)
async def archive_export_zip(export_id: Id, request: Request, auth: Auth) -> Response:
    if auth is None:
        return _unauthenticated(request)
    try:
        job = await _jobs(request).get(export_id, _token(auth))
    except ArchiveRefused as exc:
        return _refused(request, exc)
    if job is None:
        return _not_found(request, export_id)
    if job.state != "done":
        return problem_response(
            409,
            detail=f"the export is {job.state}" + (f": {job.error_detail}" if job.error_detail else ""),
            instance=request.url.path,
            reason="ARCHIVE_EXPORT_NOT_DONE",
        )
    return Response(
        job.content,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{job.file_name}"'},
    )
