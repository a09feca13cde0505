"""Class archive exports for the institution console: a job per export, built in the background
with the caller's own token, polled for progress, downloaded when done.

The jobs live in this process's memory (the finished ZIP too), so an export is polled and
downloaded through the replica that started it: the gateway chart pins a client to one replica
(session affinity on its Service and Ingress; docs/deploy.md). A restart forgets running and
finished exports. At most `archive_max_running` exports build at once (the next is refused with
429); a finished one stays downloadable for `archive_keep_seconds`.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import grpc

from training_archive import ArchiveBuilder, ArchiveRefused
from training_archive.builder import STEPS
from training_runtime.auth.principal import Role

log = logging.getLogger(__name__)

# The console's exporters: an institution (its own classes), a regulator (its region's).
CONSOLE_EXPORTERS = frozenset({Role.INSTITUTION_ADMIN, Role.INSTITUTION_STAFF, Role.REGULATOR})


class TooManyExports(Exception):
    """Every export slot is busy."""


@dataclass
class ExportJob:
    export_id: str
    class_id: str
    owner: str
    started_at: datetime
    state: str = "running"
    step: int = 0
    steps: int = len(STEPS)
    what: str = ""
    finished_at: datetime | None = None
    finished_monotonic: float | None = None
    error_code: str = ""
    error_detail: str = ""
    content: bytes = b""
    notes: list[str] = field(default_factory=list)

    @property
    def file_name(self) -> str:
        return f"class-archive-{self.class_id}.zip"


class ExportJobs:
    def __init__(self, builder: ArchiveBuilder, *, max_running: int, keep_seconds: float) -> None:
        self.builder = builder
        self._max_running = max_running
        self._keep = keep_seconds
        self._jobs: dict[str, ExportJob] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def _expire(self) -> None:
        now = time.monotonic()
        for export_id, job in list(self._jobs.items()):
            if job.finished_monotonic is not None and now - job.finished_monotonic > self._keep:
                del self._jobs[export_id]

    async def start(self, class_id: str, token: str) -> ExportJob:
        """Check the caller may export the class, then build it in the background. ArchiveRefused
        or TooManyExports otherwise; nothing is collected before the check."""
        self._expire()
        principal = await self.builder.caller(token)
        if principal.role not in CONSOLE_EXPORTERS:
            raise ArchiveRefused(
                "PERMISSION_DENIED",
                "a class archive may be exported by the class's institution or a regulator of its region",
                "ARCHIVE_NOT_ALLOWED",
            )
        await self.builder.authorize(class_id, token)
        if len(self._tasks) >= self._max_running:
            raise TooManyExports
        job = ExportJob(export_id=str(uuid.uuid4()), class_id=class_id, owner=principal.subject, started_at=_now())
        self._jobs[job.export_id] = job
        task = asyncio.create_task(self._run(job, token), name=f"archive-export-{job.export_id}")
        self._tasks[job.export_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job.export_id, None))
        return job

    async def _run(self, job: ExportJob, token: str) -> None:
        def progress(step: int, steps: int, what: str) -> None:
            job.step, job.steps, job.what = step, steps, what

        try:
            archive = await self.builder.build(job.class_id, token, progress)
        except ArchiveRefused as exc:
            job.state, job.error_code, job.error_detail = "failed", exc.code, exc.detail
        except grpc.aio.AioRpcError as exc:
            job.state, job.error_code, job.error_detail = "failed", exc.code().name, exc.details() or ""
        except Exception:
            log.exception("class archive export %s failed", job.export_id)
            job.state, job.error_code, job.error_detail = "failed", "INTERNAL", "the export failed unexpectedly"
        else:
            job.content = archive.zip_bytes()
            job.notes = [c["unavailable_reason"] for c in archive.data["chains"].values() if not c["available"]]
            if not archive.data["face_checks"]["available"]:
                job.notes.append("face-check records and snapshots withheld by identity for this caller")
            job.state = "done"
        job.finished_at = _now()
        job.finished_monotonic = time.monotonic()

    async def get(self, export_id: str, token: str) -> ExportJob | None:
        """The caller's own export (None for an unknown one or another caller's)."""
        self._expire()
        principal = await self.builder.caller(token)
        job = self._jobs.get(export_id)
        return job if job is not None and job.owner == principal.subject else None

    async def close(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        for task in list(self._tasks.values()):
            try:
                await task
            except asyncio.CancelledError:
                pass
        await self.builder.close()


def _now() -> datetime:
    return datetime.now(UTC)
