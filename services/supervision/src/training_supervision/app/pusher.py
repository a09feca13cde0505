"""The pusher: sends queued records to the province, keeping each order key's records in order.

A round claims work in one short transaction: the order keys whose oldest open record is due and
that no pusher holds are locked (`FOR UPDATE SKIP LOCKED`), given a lease, and their records marked
sent. Each key's run of records goes in one request, in sequence, so the province receives them in
order; the key stays leased until the answer is applied, so no other pusher (or replica) sends a
later record first. A record that fails for good (rejected, or out of attempts) stops its key until
an operator retries it. Unanswered requests are retried with exponential backoff and full jitter;
the idempotency key makes every re-send safe, and the province's duplicate answer acknowledges it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind
from sqlalchemy import bindparam, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert

from training_events.tracing import context_from_headers, links_from_headers, restored, span_context_from_headers
from training_records import append
from training_runtime.clock import Clock
from training_runtime.db import UnitOfWork
from training_runtime.errors import Aborted, Unavailable
from training_supervision.app.people import PeopleDirectory, PersonUnavailable, PersonUnknown
from training_supervision.app.province import Ack, Province, ProvinceRefused, ProvinceUnavailable
from training_supervision.chains import CHAINS, PUSH_RECEIPTS
from training_supervision.domain.records import PushStatus, backoff_seconds
from training_supervision.persistence.tables import push_leases, push_receipts, push_records

log = logging.getLogger(__name__)
_tracer = trace.get_tracer("training_supervision.pusher")

_DUE_KEYS = text(
    """
    SELECT h.order_key FROM (
        SELECT DISTINCT ON (order_key) order_key, status, next_attempt_at
        FROM push_records WHERE status <> 'acknowledged'
        ORDER BY order_key, sequence
    ) AS h
    LEFT JOIN push_leases l ON l.key = h.order_key
    WHERE h.status IN ('pending', 'sent') AND h.next_attempt_at <= :now
      AND (l.until IS NULL OR l.until < :now)
    ORDER BY h.order_key
    LIMIT :limit
    """
)
# How often a settlement that lost a deadlock or serialization race is tried again.
_SETTLE_TRIES = 5


@dataclass(frozen=True)
class PushSettings:
    batch_size: int
    concurrency: int
    timeout_seconds: float
    max_attempts: int
    backoff_base_seconds: float
    backoff_max_seconds: float
    poll_interval_seconds: float


def wire_record(row: Any, person: dict[str, str] | None) -> dict[str, Any]:
    """A record as the contract puts it on the wire."""
    data = dict(row.data)
    if person is not None:
        data["person"] = person
    return {
        "idempotency_key": row.idempotency_key,
        "record_type": row.record_type,
        "operation": row.operation,
        "order_key": row.order_key,
        "sequence": int(row.sequence),
        "occurred_at": row.occurred_at.isoformat().replace("+00:00", "Z"),
        "region_code": row.region_code,
        "institution_id": str(row.institution_id) if row.institution_id else "",
        "trainee_id": str(row.trainee_id) if row.trainee_id else "",
        "data": data,
    }


async def with_people(rows: list[Any], people: PeopleDirectory) -> list[dict[str, Any]]:
    """Wire records, the personal data each needs fetched from identity (once per person)."""
    wanted = {str(r.trainee_id) for r in rows if r.needs_person and r.trainee_id}
    found = await asyncio.gather(*(people.person(user_id) for user_id in sorted(wanted)))
    persons = {
        user_id: {"name": p.name, "id_number": p.id_number} for user_id, p in zip(sorted(wanted), found, strict=True)
    }
    return [wire_record(r, persons.get(str(r.trainee_id)) if r.needs_person else None) for r in rows]


class Pusher:
    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        province: Province,
        people: PeopleDirectory,
        settings: PushSettings,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._province = province
        self._people = people
        self._settings = settings
        self._owner = f"pusher-{uuid.uuid4().hex[:12]}"
        self._random = random.Random()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Keep up to `concurrency` requests in flight until cancelled."""
        in_flight: set[asyncio.Task[None]] = set()
        try:
            while True:
                free = self._settings.concurrency - len(in_flight)
                if free > 0:
                    try:
                        claimed = await self.claim(free)
                    except (Aborted, Unavailable) as exc:
                        log.info("claiming records to push failed (%s); trying again", exc)
                        claimed = []
                    for request in claimed:
                        in_flight.add(asyncio.create_task(self.send(request)))
                if in_flight:
                    done, in_flight = await asyncio.wait(
                        in_flight, timeout=self._settings.poll_interval_seconds, return_when=asyncio.FIRST_COMPLETED
                    )
                    for task in done:
                        if task.exception() is not None:
                            log.error("a push failed unexpectedly: %r", task.exception())
                else:
                    self._wake.clear()
                    try:
                        await asyncio.wait_for(self._wake.wait(), self._settings.poll_interval_seconds)
                    except TimeoutError:
                        pass
        finally:
            for task in in_flight:
                task.cancel()

    async def drain(self) -> int:
        """Send everything due now, one request after another; the number of records sent (tests, tools)."""
        sent = 0
        while requests := await self.claim(self._settings.concurrency):
            for request in requests:
                await self.send(request)
                sent += len(request)
        return sent

    async def claim(self, requests: int) -> list[list[Any]]:
        """Lease due order keys and mark their runs sent: at most `requests` requests of records."""
        size = self._settings.batch_size
        now = self._clock.now()
        lease_until = now + timedelta(seconds=self._settings.timeout_seconds * 2 + 5)
        async with self._uow.begin() as tx:
            keys = list((await tx.session.execute(_DUE_KEYS, {"now": now, "limit": requests * size})).scalars())
            if not keys:
                return []
            # Taking a lease is one statement: a key another pusher holds (and has not let lapse) is
            # simply not returned.
            leased = set(
                (
                    await tx.session.execute(
                        insert(push_leases)
                        .values([{"key": k, "owner": self._owner, "until": lease_until} for k in sorted(keys)])
                        .on_conflict_do_update(
                            index_elements=[push_leases.c.key],
                            set_={"owner": self._owner, "until": lease_until},
                            where=push_leases.c.until < now,
                        )
                        .returning(push_leases.c.key)
                    )
                ).scalars()
            )
            if not leased:
                return []
            rows = (
                await tx.session.execute(
                    select(push_records)
                    .where(
                        push_records.c.order_key.in_(leased),
                        push_records.c.status != PushStatus.ACKNOWLEDGED.value,
                    )
                    .order_by(push_records.c.order_key, push_records.c.sequence)
                )
            ).all()
            runs: dict[str, list[Any]] = {}
            for row in rows:
                run = runs.setdefault(row.order_key, [])
                stopped = run and (run[-1] is None)
                if stopped or len(run) >= size:
                    continue
                run.append(None if row.status == PushStatus.FAILED.value else row)
            packed: list[list[Any]] = []
            chosen: set[str] = set()
            for key in sorted(leased):
                run = [r for r in runs.get(key, []) if r is not None]
                if not run:
                    continue
                if packed and len(packed[-1]) + len(run) <= size:
                    packed[-1].extend(run)
                elif len(packed) < requests:
                    packed.append(list(run))
                else:
                    continue
                chosen.add(key)
            unused = leased - chosen
            if unused:
                await tx.session.execute(delete(push_leases).where(push_leases.c.key.in_(unused)))
            if not packed:
                return []
            ids = [r.id for request in packed for r in request]
            await tx.session.execute(
                update(push_records)
                .where(push_records.c.id.in_(ids))
                .values(
                    status=PushStatus.SENT.value,
                    sent_at=now,
                    attempts=push_records.c.attempts + 1,
                    # If this pusher dies, the records become due again when its lease ends.
                    next_attempt_at=lease_until,
                )
            )
        return packed

    async def send(self, rows: list[Any]) -> None:
        """Send one request and apply its answer; the keys' leases end with it.

        The request's span continues the trace of its first record queued in a sampled trace, and
        links the traces of the others (one request carries the records of many trainees)."""
        parent = _parent_trace(rows)
        with (
            restored(context_from_headers(parent)),
            _tracer.start_as_current_span(
                "province push",
                kind=SpanKind.CLIENT,
                links=links_from_headers((r.trace for r in rows), besides=span_context_from_headers(parent)),
                attributes={"training.push.records": len(rows)},
            ),
        ):
            await self._send(rows)

    async def _send(self, rows: list[Any]) -> None:
        try:
            try:
                wire = await with_people(rows, self._people)
                acks = await self._province.push(wire)
            except (ProvinceUnavailable, PersonUnavailable, PersonUnknown) as exc:
                await self._settle(rows, {}, retry_error=str(exc))
            except ProvinceRefused as exc:
                await self._settle(rows, {}, fail_error=str(exc))
            else:
                await self._settle(rows, {a.idempotency_key: a for a in acks})
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("applying a push answer failed; the records are re-sent when their lease ends")

    async def _settle(
        self, rows: list[Any], acks: dict[str, Ack], *, retry_error: str = "", fail_error: str = ""
    ) -> None:
        now = self._clock.now()
        acknowledged, retried, failed = [], [], []
        for row in rows:
            ack = acks.get(row.idempotency_key)
            attempts = int(row.attempts) + 1
            if ack is not None and ack.status in ("stored", "duplicate"):
                acknowledged.append({"rid": row.id, "receipt": ack.receipt_id or None})
            elif ack is not None and ack.status == "rejected":
                failed.append({"rid": row.id, "error": f"rejected by the province: {ack.error}"})
            elif fail_error:
                failed.append({"rid": row.id, "error": fail_error})
            else:
                error = retry_error or "the province's answer did not acknowledge this record"
                if attempts >= self._settings.max_attempts:
                    failed.append({"rid": row.id, "error": f"gave up after {attempts} attempts: {error}"})
                else:
                    wait = backoff_seconds(
                        attempts,
                        base=self._settings.backoff_base_seconds,
                        cap=self._settings.backoff_max_seconds,
                        rng=self._random,
                    )
                    retried.append({"rid": row.id, "error": error, "due": now + timedelta(seconds=wait)})
        for attempt in range(1, _SETTLE_TRIES + 1):
            try:
                await self._apply(rows, acknowledged, retried, failed, now)
                break
            except Aborted:
                if attempt == _SETTLE_TRIES:
                    raise
                await asyncio.sleep(0.05 * attempt)
        if retried or failed:
            log.info(
                "push: %d acknowledged, %d to retry, %d failed (%s)",
                len(acknowledged),
                len(retried),
                len(failed),
                (retry_error or fail_error or "partial answer")[:200],
            )

    @staticmethod
    async def _keep_receipts(session: Any, record_ids: list[Any], now: datetime) -> None:
        """One push_receipts row per acknowledgement made in this transaction, linked into its chain
        (docs/records.md) as the transaction's last statement."""
        c = push_records.c
        made = (
            await session.execute(
                insert(push_receipts)
                .from_select(
                    ["id", "push_record_id", "receipt_id", "acknowledged_at"],
                    select(func.gen_random_uuid(), c.id, func.coalesce(c.receipt_id, ""), c.acknowledged_at).where(
                        c.id.in_(record_ids), c.status == PushStatus.ACKNOWLEDGED.value, c.acknowledged_at == now
                    ),
                )
                .on_conflict_do_nothing(index_elements=[push_receipts.c.push_record_id, push_receipts.c.receipt_id])
                .returning(push_receipts.c.id)
            )
        ).scalars()
        await append(session, CHAINS, PUSH_RECEIPTS, list(made), now=now)

    async def _apply(
        self,
        rows: list[Any],
        acknowledged: list[dict[str, Any]],
        retried: list[dict[str, Any]],
        failed: list[dict[str, Any]],
        now: datetime,
    ) -> None:
        """Record one answer and end the leases of its keys, in one transaction."""
        c = push_records.c
        async with self._uow.begin() as tx:
            if acknowledged:
                await tx.session.execute(
                    update(push_records)
                    .where(c.id == bindparam("rid"), c.status == PushStatus.SENT.value)
                    .values(
                        status=PushStatus.ACKNOWLEDGED.value,
                        acknowledged_at=now,
                        receipt_id=bindparam("receipt"),
                        last_error=None,
                    ),
                    acknowledged,
                )
            if retried:
                await tx.session.execute(
                    update(push_records)
                    .where(c.id == bindparam("rid"), c.status == PushStatus.SENT.value)
                    .values(
                        status=PushStatus.PENDING.value, last_error=bindparam("error"), next_attempt_at=bindparam("due")
                    ),
                    retried,
                )
            if failed:
                await tx.session.execute(
                    update(push_records)
                    .where(c.id == bindparam("rid"), c.status == PushStatus.SENT.value)
                    .values(status=PushStatus.FAILED.value, last_error=bindparam("error"), next_attempt_at=now),
                    failed,
                )
            await tx.session.execute(
                delete(push_leases).where(
                    push_leases.c.key.in_({r.order_key for r in rows}), push_leases.c.owner == self._owner
                )
            )
            if acknowledged:
                await self._keep_receipts(tx.session, [a["rid"] for a in acknowledged], now)


def _parent_trace(rows: list[Any]) -> dict[str, str] | None:
    """The stored trace of the first record queued in a sampled trace, else of the first with one."""
    traced = [(r.trace, span_context_from_headers(r.trace)) for r in rows if r.trace]
    for headers, span_context in traced:
        if span_context is not None and span_context.trace_flags.sampled:
            return headers
    return traced[0][0] if traced else None
