"""The outbox relay: publishes committed outbox rows to JetStream in outbox order.

One relay per service database is active at a time (a PostgreSQL advisory lock elects it), so
replicas never publish out of order or twice in parallel. It wakes on the outbox trigger's NOTIFY
and polls as a fallback. While NATS or PostgreSQL is down it keeps retrying with capped exponential
backoff and jitter; rows stay in the outbox until JetStream acknowledges them, and a republish after
a crash between ack and mark is dropped by JetStream's de-duplication on `Nats-Msg-Id`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass

from sqlalchemy import MetaData, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from training_events.connection import NatsConnection
from training_events.envelope import Headers
from training_events.schema import NOTIFY_CHANNEL, event_tables
from training_events.tracing import publish_span

log = logging.getLogger(__name__)

_tables = event_tables(MetaData())
_outbox = _tables.outbox

# Arbitrary but fixed: the advisory lock that elects the publishing relay of a service database.
RELAY_LOCK_KEY = 0x6F7574626F78  # "outbox"


class RelayPublishError(Exception):
    pass


@dataclass
class RelayStats:
    """What the relay last saw; read by metrics and health."""

    backlog: int = 0
    oldest_age_seconds: float = 0.0
    published_total: int = 0
    failures_total: int = 0
    is_leader: bool = False


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        nats: NatsConnection,
        *,
        batch_size: int = 256,
        poll_interval_seconds: float = 1.0,
        publish_timeout_seconds: float = 5.0,
        retention_hours: float = 72.0,
        backoff_max_seconds: float = 5.0,
    ) -> None:
        self._engine = engine
        self._nats = nats
        self._batch_size = batch_size
        self._poll_interval = poll_interval_seconds
        self._publish_timeout = publish_timeout_seconds
        self._retention_hours = retention_hours
        self._backoff_max = backoff_max_seconds
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._last_cleanup = 0.0
        self._last_stats = 0.0
        self.stats = RelayStats()

    def notify(self) -> None:
        """Hint that new rows were committed (the NOTIFY trigger does the same across processes)."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self, *, drain_timeout_seconds: float = 5.0) -> None:
        """Publish until stopped; then make one bounded last pass so a clean shutdown leaves nothing behind."""
        failures = 0
        while not self._stopping.is_set():
            try:
                await self._lead()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                self.stats.failures_total += 1
                self.stats.is_leader = False
                delay = min(self._backoff_max, 0.1 * 2 ** min(failures, 10)) * (0.5 + random.random() / 2)
                log.warning("outbox relay: %s: %s; retrying in %.2fs", type(exc).__name__, exc, delay)
                await self._sleep(delay)
        self.stats.is_leader = False
        if self._nats.connected:
            try:
                await asyncio.wait_for(self._final_pass(), drain_timeout_seconds)
            except Exception as exc:
                log.warning("outbox relay: events left in the outbox for the next start: %s", exc)

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            pass

    async def _lead(self) -> None:
        async with self._engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            while not self._stopping.is_set():
                if await conn.scalar(select(func.pg_try_advisory_lock(RELAY_LOCK_KEY))):
                    break
                self.stats.is_leader = False
                await self._refresh_stats(conn, force=True)
                await self._sleep(self._poll_interval)
            if self._stopping.is_set():
                return
            self.stats.is_leader = True
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None

            def on_notify(*_: object) -> None:
                self._wake.set()

            await driver.add_listener(NOTIFY_CHANNEL, on_notify)
            try:
                while not self._stopping.is_set():
                    self._wake.clear()
                    published = await self._publish_batch(conn)
                    await self._refresh_stats(conn)
                    await self._cleanup(conn)
                    if published < self._batch_size:
                        try:
                            await asyncio.wait_for(self._wake.wait(), self._poll_interval)
                        except TimeoutError:
                            pass
            finally:
                try:
                    await driver.remove_listener(NOTIFY_CHANNEL, on_notify)
                    await conn.execute(select(func.pg_advisory_unlock(RELAY_LOCK_KEY)))
                except Exception:  # the connection is going away; the lock goes with it
                    pass

    async def _final_pass(self) -> None:
        async with self._engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            if not await conn.scalar(select(func.pg_try_advisory_lock(RELAY_LOCK_KEY))):
                return
            try:
                while self._nats.connected and await self._publish_batch(conn) > 0:
                    pass
            finally:
                await conn.execute(select(func.pg_advisory_unlock(RELAY_LOCK_KEY)))

    async def _publish_batch(self, conn: AsyncConnection) -> int:
        rows = (
            await conn.execute(
                select(_outbox.c.seq, _outbox.c.subject, _outbox.c.payload, _outbox.c.headers)
                .where(_outbox.c.published_at.is_(None))
                .order_by(_outbox.c.seq)
                .limit(self._batch_size)
            )
        ).all()
        if not rows:
            return 0
        if not self._nats.connected:
            raise RelayPublishError(f"NATS is not connected; {len(rows)}+ events wait in the outbox")
        js = self._nats.jetstream()
        futures: list[asyncio.Future] = []
        try:
            for row in rows:
                headers = dict(row.headers)
                headers[Headers.SEQUENCE] = str(row.seq)
                with publish_span(row.subject, headers):
                    futures.append(await js.publish_async(row.subject, row.payload, headers=headers))
            await asyncio.wait(futures, timeout=self._publish_timeout)
        finally:
            for future in futures:
                if not future.done():
                    future.cancel()
        acked: list[int] = []
        first_error: str | None = None
        for row, future in zip(rows, futures, strict=False):
            if future.done() and not future.cancelled() and future.exception() is None:
                acked.append(row.seq)
            elif first_error is None:
                exc = None if future.cancelled() or not future.done() else future.exception()
                first_error = f"{type(exc).__name__}: {exc}" if exc else "no acknowledgement in time"
        if acked:
            await conn.execute(update(_outbox).where(_outbox.c.seq.in_(acked)).values(published_at=func.now()))
            self.stats.published_total += len(acked)
        if len(acked) < len(rows):
            failed = [row.seq for row in rows if row.seq not in set(acked)]
            await conn.execute(
                update(_outbox)
                .where(_outbox.c.seq.in_(failed))
                .values(attempts=_outbox.c.attempts + 1, last_error=first_error)
            )
            raise RelayPublishError(f"{len(failed)} of {len(rows)} events not acknowledged: {first_error}")
        return len(rows)

    async def _refresh_stats(self, conn: AsyncConnection, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_stats < 2.0:
            return
        self._last_stats = now
        row = (
            await conn.execute(
                select(
                    func.count(),
                    func.coalesce(func.extract("epoch", func.now() - func.min(_outbox.c.occurred_at)), 0),
                ).where(_outbox.c.published_at.is_(None))
            )
        ).one()
        self.stats.backlog = int(row[0])
        self.stats.oldest_age_seconds = max(0.0, float(row[1]))

    async def _cleanup(self, conn: AsyncConnection) -> None:
        """Forget published rows after the retention period (JetStream and the consumers hold them)."""
        now = time.monotonic()
        if now - self._last_cleanup < 600:
            return
        self._last_cleanup = now
        await conn.execute(
            text("DELETE FROM outbox WHERE published_at < now() - make_interval(secs => :seconds)"),
            {"seconds": self._retention_hours * 3600.0},
        )
