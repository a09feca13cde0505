"""Regulator commands: fetched from the province's feed, applied through the owning service's RPC
with supervision's service token while acting as the command (training_runtime.auth.commands), and
their outcome reported back.

A command the owning service answers (applied, or refused with a reason) is settled once and its
outcome sent until the province has it; a service that does not answer is asked again with backoff.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import grpc
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert

from training.certificates.v1 import certificates_pb2, certificates_pb2_grpc
from training.courses.v1 import courses_pb2, courses_pb2_grpc
from training.identity.v1 import identity_pb2, identity_pb2_grpc
from training.learning.v1 import learning_pb2, learning_pb2_grpc
from training.supervision.v1 import supervision_events_pb2 as sev
from training.supervision.v1 import supervision_pb2 as spb
from training_events import Event
from training_runtime.auth.commands import command_metadata
from training_runtime.clock import Clock
from training_runtime.db import UnitOfWork
from training_runtime.protoconv import timestamp
from training_supervision.app.province import Province, ProvinceRefused, ProvinceUnavailable
from training_supervision.domain.commands import CommandStatus, CommandType, refusal
from training_supervision.domain.records import backoff_seconds
from training_supervision.persistence.tables import feed_cursors, regulator_commands

log = logging.getLogger(__name__)

SETTLED = "training.supervision.regulator_command.settled.v1"
FEED = "regulator-commands"
# Status codes that are an answer (the service refused); anything else is asked again later.
_ANSWERS = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.OUT_OF_RANGE,
}
TYPE_TO_PROTO = {
    CommandType.SUSPEND_INSTITUTION: spb.COMMAND_TYPE_SUSPEND_INSTITUTION,
    CommandType.WITHDRAW_COURSE: spb.COMMAND_TYPE_WITHDRAW_COURSE,
    CommandType.INVALIDATE_HOURS: spb.COMMAND_TYPE_INVALIDATE_HOURS,
    CommandType.REVOKE_CERTIFICATE: spb.COMMAND_TYPE_REVOKE_CERTIFICATE,
}
STATUS_TO_PROTO = {
    CommandStatus.RECEIVED: spb.COMMAND_STATUS_RECEIVED,
    CommandStatus.APPLIED: spb.COMMAND_STATUS_APPLIED,
    CommandStatus.REJECTED: spb.COMMAND_STATUS_REJECTED,
}


class OwningServices:
    """The RPC each command type is applied through."""

    def __init__(
        self,
        *,
        identity: grpc.aio.Channel,
        courses: grpc.aio.Channel,
        learning: grpc.aio.Channel,
        certificates: grpc.aio.Channel,
        timeout: float,
    ) -> None:
        self._identity = identity_pb2_grpc.IdentityServiceStub(identity)
        self._courses = courses_pb2_grpc.CoursesServiceStub(courses)
        self._learning = learning_pb2_grpc.LearningServiceStub(learning)
        self._certificates = certificates_pb2_grpc.CertificatesServiceStub(certificates)
        self._timeout = timeout

    def call(self, row: Any) -> Callable[[], Awaitable[str]]:
        metadata = command_metadata(row.command_id, row.region_code)
        options: dict[str, Any] = {"metadata": metadata, "timeout": self._timeout}
        target, reason = row.target_id, row.reason
        kind = CommandType(row.command_type)

        async def suspend() -> str:
            request = identity_pb2.SuspendInstitutionRequest(institution_id=target, reason=reason)
            answer = await self._identity.SuspendInstitution(request, **options)
            return f"institution {answer.institution.institution_id} suspended"

        async def withdraw() -> str:
            request = courses_pb2.WithdrawCourseRequest(course_id=target, reason=reason)
            answer = await self._courses.WithdrawCourse(request, **options)
            return f"course {answer.course.course_id} withdrawn"

        async def invalidate() -> str:
            request = learning_pb2.InvalidateHoursRequest(enrollment_id=target, reason=reason)
            answer = await self._learning.InvalidateHours(request, **options)
            return f"{len(answer.entries)} ledger entries recorded the invalidation"

        async def revoke() -> str:
            request = certificates_pb2.RevokeCertificateRequest(serial_number=target, reason=reason)
            answer = await self._certificates.RevokeCertificate(request, **options)
            return f"certificate {answer.certificate.serial_number} revoked"

        return {
            CommandType.SUSPEND_INSTITUTION: suspend,
            CommandType.WITHDRAW_COURSE: withdraw,
            CommandType.INVALIDATE_HOURS: invalidate,
            CommandType.REVOKE_CERTIFICATE: revoke,
        }[kind]


class Commands:
    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        province: Province,
        services: OwningServices,
        *,
        province_region: str,
        poll_interval_seconds: float,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._province = province
        self._services = services
        self._province_region = province_region
        self._poll = poll_interval_seconds
        self._lock = asyncio.Lock()

    async def fetch(self) -> tuple[int, int]:
        """Receive new commands, apply those due, report outcomes: (received, settled)."""
        async with self._lock:
            received = await self._receive()
            settled = await self._apply_due()
            await self._report()
            return received, settled

    async def run(self) -> None:
        while True:
            try:
                await self.fetch()
            except (ProvinceUnavailable, ProvinceRefused) as exc:
                log.warning("regulator commands: %s", exc)
            await asyncio.sleep(self._poll)

    async def _receive(self) -> int:
        async with self._uow.read() as session:
            cursor = await session.scalar(select(feed_cursors.c.cursor).where(feed_cursors.c.feed == FEED)) or ""
        items, next_cursor = await self._province.commands(cursor)
        received = 0
        async with self._uow.begin() as tx:
            now = tx.now()
            for item in items:
                try:
                    issued_at = datetime.fromisoformat(str(item.get("issued_at", "")).replace("Z", "+00:00"))
                except ValueError:
                    issued_at = now
                added = await tx.session.scalar(
                    insert(regulator_commands)
                    .values(
                        command_id=str(item.get("command_id", ""))[:100],
                        id=uuid.uuid4(),
                        command_type=str(item.get("command_type", "")),
                        region_code=str(item.get("region_code", "")),
                        target_id=str(item.get("target_id", "")),
                        reason=str(item.get("reason", "")),
                        issued_at=issued_at,
                        received_at=now,
                        status=CommandStatus.RECEIVED.value,
                        detail="",
                        attempts=0,
                        next_attempt_at=now,
                        outcome_reported=False,
                    )
                    .on_conflict_do_nothing()
                    .returning(regulator_commands.c.command_id)
                )
                received += added is not None
            await tx.session.execute(
                insert(feed_cursors)
                .values(feed=FEED, cursor=next_cursor)
                .on_conflict_do_update(index_elements=[feed_cursors.c.feed], set_={"cursor": next_cursor})
            )
        return received

    async def _apply_due(self) -> int:
        async with self._uow.read() as session:
            rows = (
                await session.execute(
                    select(regulator_commands)
                    .where(
                        regulator_commands.c.status == CommandStatus.RECEIVED.value,
                        regulator_commands.c.next_attempt_at <= self._clock.now(),
                    )
                    .order_by(regulator_commands.c.received_at, regulator_commands.c.command_id)
                )
            ).all()
        settled = 0
        for row in rows:
            outcome = await self._apply(row)
            if outcome is None:
                attempts = row.attempts + 1
                wait = backoff_seconds(attempts, base=1.0, cap=300.0)
                async with self._uow.begin() as tx:
                    await tx.session.execute(
                        update(regulator_commands)
                        .where(regulator_commands.c.command_id == row.command_id)
                        .values(attempts=attempts, next_attempt_at=tx.now() + timedelta(seconds=wait))
                    )
                continue
            await self._settle(row, *outcome)
            settled += 1
        return settled

    async def _apply(self, row: Any) -> tuple[CommandStatus, str] | None:
        why_not = refusal(row.command_id, row.command_type, row.region_code, self._province_region, row.target_id)
        if why_not is not None:
            return CommandStatus.REJECTED, why_not
        try:
            detail = await self._services.call(row)()
        except grpc.aio.AioRpcError as exc:
            if exc.code() in _ANSWERS:
                return CommandStatus.REJECTED, f"{exc.code().name}: {exc.details()}"
            log.warning("command %s: the owning service did not answer (%s)", row.command_id, exc.code().name)
            return None
        return CommandStatus.APPLIED, detail

    async def _settle(self, row: Any, status: CommandStatus, detail: str) -> None:
        async with self._uow.begin() as tx:
            now = tx.now()
            changed = await tx.session.scalar(
                update(regulator_commands)
                .where(
                    regulator_commands.c.command_id == row.command_id,
                    regulator_commands.c.status == CommandStatus.RECEIVED.value,
                )
                .values(status=status.value, detail=detail[:2000], settled_at=now, attempts=row.attempts + 1)
                .returning(regulator_commands.c.command_id)
            )
            if changed is None:
                return
            kind = TYPE_TO_PROTO.get(CommandType(row.command_type)) if row.command_type in set(CommandType) else None
            await tx.emit(
                Event(
                    subject=SETTLED,
                    key=row.command_id,
                    message=sev.RegulatorCommandSettled(
                        command_id=row.command_id,
                        command_type=kind or spb.COMMAND_TYPE_UNSPECIFIED,
                        region_code=row.region_code,
                        target_id=row.target_id,
                        status=STATUS_TO_PROTO[status],
                        detail=detail[:2000],
                        issued_at=timestamp(row.issued_at),
                        settled_at=timestamp(now),
                    ),
                )
            )

    async def _report(self) -> None:
        async with self._uow.read() as session:
            rows = (
                await session.execute(
                    select(regulator_commands).where(
                        regulator_commands.c.status != CommandStatus.RECEIVED.value,
                        regulator_commands.c.outcome_reported.is_(False),
                    )
                )
            ).all()
        for row in rows:
            try:
                await self._province.report_outcome(
                    row.command_id, row.status, row.detail, row.settled_at.isoformat().replace("+00:00", "Z")
                )
            except ProvinceRefused as exc:
                log.error("the province refused the outcome of command %s: %s", row.command_id, exc)
            async with self._uow.begin() as tx:
                await tx.session.execute(
                    update(regulator_commands)
                    .where(regulator_commands.c.command_id == row.command_id)
                    .values(outcome_reported=True)
                )
