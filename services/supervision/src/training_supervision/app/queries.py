"""What operators and regulators read: push records and their status, the failed-push list (and
putting it back in the queue), regulator commands, and regional statistics. A regulator sees only
its own region, whatever it asks for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, and_, case, cast, func, or_, select, update

from training_runtime.auth.principal import Principal, Role, region_covers, region_prefix
from training_runtime.db import UnitOfWork
from training_runtime.errors import InvalidArgument, PermissionDenied
from training_runtime.paging import next_token, parse_page, parse_uuid
from training_supervision.domain.records import PushStatus, RecordType
from training_supervision.persistence.tables import push_records, regulator_commands

MAX_RETRY_IDS = 1000


@dataclass(frozen=True)
class Statistics:
    region_code: str
    institution_id: str
    institutions: int
    classes: int
    trainees: int
    enrollments: int
    credited_hours: float
    completions: int
    final_exams: int
    final_exams_passed: int
    certificates_issued: int
    certificates_revoked: int
    anomalies: int

    @property
    def pass_rate(self) -> float:
        return self.final_exams_passed / self.final_exams if self.final_exams else 0.0


def _region_of_viewer(viewer: Principal, asked: str) -> str:
    """The region a call covers: a regulator's own (or a part of it), anyone else's choice."""
    if asked and (len(asked) != 6 or not asked.isdigit()):
        raise InvalidArgument("region_code", "must be a 6-digit region code")
    if viewer.role is Role.REGULATOR:
        own = viewer.region_code or ""
        if not asked:
            return own
        if not region_covers(own, asked):
            raise PermissionDenied("a regulator sees only its own region")
    return asked


class Queries:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def records(
        self,
        viewer: Principal,
        *,
        page_size: int,
        page_token: str,
        status: str | None,
        record_type: str | None,
        trainee_id: str,
        institution_id: str,
        failed_only: bool = False,
    ) -> tuple[list[Any], str]:
        page = parse_page(page_size, page_token)
        c = push_records.c
        query = select(push_records)
        if viewer.role is Role.REGULATOR:
            query = query.where(c.region_code.startswith(region_prefix(viewer.region_code or "000000")))
        if failed_only:
            status = PushStatus.FAILED.value
        if status:
            query = query.where(c.status == status)
        if record_type:
            query = query.where(c.record_type == record_type)
        if trainee_id:
            query = query.where(c.trainee_id == parse_uuid(trainee_id, "trainee_id"))
        if institution_id:
            query = query.where(c.institution_id == parse_uuid(institution_id, "institution_id"))
        if page.after is not None:
            created, last = page.after
            if failed_only:
                query = query.where(or_(c.created_at > created, and_(c.created_at == created, c.id > last)))
            else:
                query = query.where(or_(c.created_at < created, and_(c.created_at == created, c.id < last)))
        order = (c.created_at, c.id) if failed_only else (c.created_at.desc(), c.id.desc())
        query = query.order_by(*order).limit(page.size + 1)
        async with self._uow.read() as session:
            rows = (await session.execute(query)).all()
        more = len(rows) > page.size
        rows = rows[: page.size]
        return rows, next_token(rows[-1].created_at, rows[-1].id) if more and rows else ""

    async def retry_failed(self, record_ids: list[str]) -> int:
        if len(record_ids) > MAX_RETRY_IDS:
            raise InvalidArgument("record_ids", f"has {len(record_ids)} items; at most {MAX_RETRY_IDS}")
        ids = [parse_uuid(value, f"record_ids[{i}]") for i, value in enumerate(record_ids)]
        statement = update(push_records).where(push_records.c.status == PushStatus.FAILED.value)
        if ids:
            statement = statement.where(push_records.c.id.in_(ids))
        async with self._uow.begin() as tx:
            result = await tx.session.execute(
                statement.values(status=PushStatus.PENDING.value, attempts=0, next_attempt_at=tx.now()).returning(
                    push_records.c.id
                )
            )
            return len(result.all())

    async def commands(self, viewer: Principal, *, page_size: int, page_token: str) -> tuple[list[Any], str]:
        page = parse_page(page_size, page_token)
        c = regulator_commands.c
        query = select(regulator_commands)
        if viewer.role is Role.REGULATOR:
            query = query.where(c.region_code.startswith(region_prefix(viewer.region_code or "000000")))
        if page.after is not None:
            received, last = page.after
            query = query.where(
                or_(c.received_at < received, and_(c.received_at == received, c.command_id < str(last)))
            )
        query = query.order_by(c.received_at.desc(), c.command_id.desc()).limit(page.size + 1)
        async with self._uow.read() as session:
            rows = (await session.execute(query)).all()
        more = len(rows) > page.size
        rows = rows[: page.size]
        return rows, next_token(rows[-1].received_at, rows[-1].id) if more and rows else ""

    async def statistics(self, viewer: Principal, region_code: str, institution_id: str) -> Statistics:
        region = _region_of_viewer(viewer, region_code)
        c = push_records.c
        query = select(
            func.count(
                func.distinct(
                    case((and_(c.record_type == "institution", c.operation == "registered"), c.institution_id))
                )
            ),
            func.count().filter(c.record_type == RecordType.CLASS.value),
            func.count(func.distinct(case((c.record_type == RecordType.ENROLLMENT.value, c.trainee_id)))),
            func.count().filter(c.record_type == RecordType.ENROLLMENT.value),
            func.coalesce(func.sum(c.hours).filter(c.record_type == RecordType.HOUR_RECORD.value), 0.0)
            - func.coalesce(func.sum(c.hours).filter(c.record_type == RecordType.HOUR_INVALIDATION.value), 0.0),
            func.count().filter(c.record_type == RecordType.COMPLETION.value),
            func.count().filter(c.record_type == RecordType.EXAM_RESULT.value),
            func.coalesce(func.sum(cast(c.passed, Integer)).filter(c.record_type == RecordType.EXAM_RESULT.value), 0),
            func.count().filter(and_(c.record_type == RecordType.CERTIFICATE.value, c.operation == "issued")),
            func.count().filter(and_(c.record_type == RecordType.CERTIFICATE.value, c.operation == "revoked")),
            func.count().filter(c.record_type == RecordType.ANOMALY.value),
        )
        if region:
            query = query.where(c.region_code.startswith(region_prefix(region)))
        if institution_id:
            query = query.where(c.institution_id == parse_uuid(institution_id, "institution_id"))
        async with self._uow.read() as session:
            row = (await session.execute(query)).one()
        return Statistics(region, institution_id, *(int(v) if i != 4 else float(v) for i, v in enumerate(row)))
