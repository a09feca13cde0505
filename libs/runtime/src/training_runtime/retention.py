"""Dating an enrollment's records for retention (docs/records.md, "Retention").

A service that keeps training records per enrollment (learning's hour ledger, exams' attempts,
certificates' certificates) stores on its enrollment projection the years its records are kept
(courses announces them with each enrollment, from the class's rulebook version) and the date until
which they are kept: its latest record for the enrollment plus those years. The date lives on the
projection, never on the record rows, because record rows are hash-chained and must not change.

`RetentionDater` keeps the dates current in the background (hourly): dates years ahead need no
transaction on the hot path, and a date only ever moves later.

`erasure_digest` is the proof format of an erasure at retention end (identity's personal data,
certificates' holders).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Interval, Table, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from training_runtime.clock import Clock
from training_runtime.db import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EnrollmentDating:
    """Where an enrollment's retention is kept and which records extend it."""

    enrollments: Table
    # The projection's enrollment id, retention years (NULL: unknown, the enrollment is not dated)
    # and retention end.
    key: ColumnElement[Any]
    years: ColumnElement[Any]
    until: ColumnElement[Any]
    # The records: their enrollment id and when each was made (an expression over the record row).
    record_enrollment: ColumnElement[Any]
    record_at: ColumnElement[Any]


async def date_enrollments(session: AsyncConnection, dating: EnrollmentDating, *, since: datetime | None = None) -> int:
    """Move each enrollment's retention end to its latest record plus its years, where that is later.
    Only records made at or after `since` are looked at (all when None). Returns the enrollments moved."""
    latest = select(dating.record_enrollment.label("enrollment_id"), func.max(dating.record_at).label("last"))
    if since is not None:
        latest = latest.where(dating.record_at >= since)
    latest_rows = latest.group_by(dating.record_enrollment).subquery()
    new_until = latest_rows.c.last + func.make_interval(dating.years, type_=Interval())
    result = await session.execute(
        update(dating.enrollments)
        .where(
            dating.key == latest_rows.c.enrollment_id,
            dating.years.is_not(None),
            or_(dating.until.is_(None), dating.until < new_until),
        )
        .values({dating.until.name: new_until})  # type: ignore[attr-defined]
    )
    return result.rowcount or 0


class RetentionDater:
    """The background job keeping `dating`'s retention dates current: a full pass at start, then
    every interval the records made since the previous pass (with a margin for late commits)."""

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        dating: EnrollmentDating,
        *,
        interval_seconds: float = 3600.0,
        margin: timedelta = timedelta(hours=1),
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._dating = dating
        self._interval = interval_seconds
        self._margin = margin

    async def date_once(self, since: datetime | None = None) -> int:
        async with self._uow.begin() as tx:
            return await date_enrollments(tx.session, self._dating, since=since)

    async def run(self) -> None:
        since: datetime | None = None
        while True:
            started = self._clock.now()
            try:
                moved = await self.date_once(since)
                if moved:
                    log.info("retention dates moved for %d enrollments", moved)
                since = started - self._margin
            except Exception:
                log.exception("retention dating failed; the next pass retries")
            await asyncio.sleep(self._interval)


def erasure_digest(subject: str, table: str, erased_at: datetime, fields: Mapping[str, str]) -> str:
    """Proof of an erasure: SHA-256 over the subject (`user:<id>`, `certificate:<id>`), the time and
    the sorted `<table>.<field>:<SHA-256 of the erased value>` lines. It shows which values were
    erased, provable against a backup, without keeping any of them."""
    lines = [subject, f"at:{erased_at.isoformat()}"]
    lines.extend(sorted(f"{table}.{name}:{value_sha256}" for name, value_sha256 in fields.items()))
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()
