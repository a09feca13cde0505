"""The daily batch and reconciliation.

The daily batch sends every record of a day that we hold as acknowledged to the province's batch
endpoint, which stores whatever it does not hold yet: a second line of delivery for records the
province lost after acknowledging them. Reconciliation asks the province which keys it holds for a
day, compares them with what we sent, and puts the records it lacks back in the push queue (they
are sent again, idempotently, with their original key). A background job runs both for the previous
day once a day. Before a day's batch, and as soon as each day has ended, the day's record-chain heads
are queued for the province (app/chain_heads.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert

from training_runtime.clock import Clock
from training_runtime.db import UnitOfWork
from training_runtime.errors import InvalidArgument, Unavailable
from training_supervision.app.chain_heads import ChainHeadReporter
from training_supervision.app.people import PeopleDirectory
from training_supervision.app.province import Province
from training_supervision.app.pusher import with_people
from training_supervision.domain.records import CHINA, PushStatus
from training_supervision.persistence.tables import daily_batches, push_records

log = logging.getLogger(__name__)

BATCH_CHUNK = 1000


@dataclass(frozen=True)
class BatchResult:
    batch_id: str
    batch_date: date
    records: int
    newly_stored: int


@dataclass(frozen=True)
class Reconciliation:
    day: date
    ours: int
    theirs: int
    resent: int
    unknown_to_us: list[str]


def parse_day(value: str, clock: Clock, field: str) -> date:
    """YYYY-MM-DD, or yesterday (China Standard Time) when empty."""
    if not value:
        return clock.now().astimezone(CHINA).date() - timedelta(days=1)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidArgument(field, "must be a date YYYY-MM-DD") from None


class DailySync:
    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        province: Province,
        people: PeopleDirectory,
        heads: ChainHeadReporter,
        *,
        batch_hour: int,
    ) -> None:
        self._heads = heads
        self._uow = uow
        self._clock = clock
        self._province = province
        self._people = people
        self._batch_hour = batch_hour

    async def report_heads(self, day: date) -> None:
        """Queue `day`'s chain heads (once); a service that does not answer is retried by `run`."""
        try:
            await self._heads.report(day)
        except Unavailable as exc:
            log.warning("chain heads of %s not queued yet: %s", day, exc.message)

    async def batch(self, day: date) -> BatchResult:
        await self.report_heads(day)
        async with self._uow.read() as session:
            rows = (
                await session.execute(
                    select(push_records)
                    .where(push_records.c.day == day, push_records.c.status == PushStatus.ACKNOWLEDGED.value)
                    .order_by(push_records.c.order_key, push_records.c.sequence)
                )
            ).all()
        digest = hashlib.sha256("\n".join(r.idempotency_key for r in rows).encode()).hexdigest()[:16]
        batch_id = f"{day.isoformat()}-{digest}"
        newly_stored = 0
        for start in range(0, len(rows), BATCH_CHUNK):
            chunk = rows[start : start + BATCH_CHUNK]
            stored, _acks = await self._province.batch(
                f"{batch_id}-{start // BATCH_CHUNK}", day, await with_people(chunk, self._people)
            )
            newly_stored += stored
        async with self._uow.begin() as tx:
            values = {"batch_id": batch_id, "records": len(rows), "newly_stored": newly_stored, "sent_at": tx.now()}
            await tx.session.execute(
                insert(daily_batches)
                .values(batch_date=day, **values)
                .on_conflict_do_update(index_elements=[daily_batches.c.batch_date], set_=values)
            )
        if newly_stored:
            log.warning("daily batch %s: the province lacked %d acknowledged records", day, newly_stored)
        return BatchResult(batch_id, day, len(rows), newly_stored)

    async def reconcile(self, day: date) -> Reconciliation:
        theirs = await self._province.keys_of_day(day)
        async with self._uow.begin() as tx:
            rows = (
                await tx.session.execute(
                    select(push_records.c.idempotency_key, push_records.c.status).where(push_records.c.day == day)
                )
            ).all()
            ours = {r.idempotency_key for r in rows if r.status == PushStatus.ACKNOWLEDGED.value}
            missing = sorted(ours - theirs)
            if missing:
                await tx.session.execute(
                    update(push_records)
                    .where(
                        push_records.c.idempotency_key.in_(missing),
                        push_records.c.status == PushStatus.ACKNOWLEDGED.value,
                    )
                    .values(
                        status=PushStatus.PENDING.value,
                        attempts=0,
                        next_attempt_at=tx.now(),
                        acknowledged_at=None,
                        last_error="reconciliation: the province did not hold it",
                    )
                )
        unknown = sorted(theirs - {r.idempotency_key for r in rows})
        if missing or unknown:
            log.warning("reconciliation %s: %d re-sent, %d unknown to us", day, len(missing), len(unknown))
        return Reconciliation(day, len(ours), len(theirs), len(missing), unknown)

    async def run(self) -> None:
        """Once a day, after the batch hour: the previous day's batch, then its reconciliation."""
        while True:
            now: datetime = self._clock.now().astimezone(CHINA)
            yesterday = now.date() - timedelta(days=1)
            await self.report_heads(yesterday)
            if now.hour >= self._batch_hour:
                async with self._uow.read() as session:
                    done = await session.scalar(
                        select(daily_batches.c.batch_id).where(daily_batches.c.batch_date == yesterday)
                    )
                if done is None:
                    try:
                        await self.batch(yesterday)
                        await self.reconcile(yesterday)
                    except Exception as exc:
                        log.warning("daily batch for %s failed (%s); retrying in a minute", yesterday, exc)
            await asyncio.sleep(60)
