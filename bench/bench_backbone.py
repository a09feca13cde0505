"""The event backbone: events per second from committed outbox rows through JetStream into a
consumer's inbox, beside raw asyncpg single-row inserts measured in the same run; and the p99 lag
from commit to consumption at half the measured backbone rate.

As in production, the publishing side (the relay) and the consuming side (the inbox consumer) are
separate processes. The throughput figure drains a backlog of committed outbox rows, so it measures
the backbone itself, not the application transactions that feed it. The lag figure commits the same
outbox rows (built by `outbox_row`, firing the same wake-up trigger) with plain asyncpg from a third
process at half the measured rate, because one Python process of SQLAlchemy units of work cannot
produce that many (their own rate is reported beside it, with the same raw baseline).

Goals (issue 2): backbone rate at least half the raw insert rate; p99 lag under 200 ms at half load.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid

import asyncpg
from sqlalchemy import MetaData, text

from bench.common import Figure, Report, sized_int
from bench.infra import infrastructure
from training.identity.v1 import identity_events_pb2
from training_events import Event, NatsConnection, OutboxRelay, ensure_streams, event_tables, stream_for_context
from training_events.schema import NOTIFY_FUNCTION, NOTIFY_TRIGGER
from training_runtime.db import Database, UnitOfWork

SUBJECT = "training.bench.thing.happened.v1"
CONCURRENCY = sized_int(16, 2)
EVENTS = sized_int(8000, 40)


def _event() -> Event:
    return Event(subject=SUBJECT, key="k", message=identity_events_pb2.UserRegistered(user_id="u"))


async def raw_inserts(url: str, count: int) -> float:
    """Single-row INSERTs, each its own transaction, from CONCURRENCY connections."""
    pool = await asyncpg.create_pool(url, min_size=CONCURRENCY, max_size=CONCURRENCY)
    try:
        await pool.execute("CREATE TABLE raw_rows (id uuid PRIMARY KEY, body bytea NOT NULL, at timestamptz NOT NULL)")
        body = identity_events_pb2.UserRegistered(user_id=str(uuid.uuid4())).SerializeToString()

        async def worker(n: int) -> None:
            async with pool.acquire() as conn:
                for _ in range(n):
                    await conn.execute("INSERT INTO raw_rows VALUES ($1, $2, now())", uuid.uuid4(), body)

        started = time.perf_counter()
        await asyncio.gather(*(worker(count // CONCURRENCY) for _ in range(CONCURRENCY)))
        return (count // CONCURRENCY * CONCURRENCY) / (time.perf_counter() - started)
    finally:
        await pool.close()


async def produce(url: str, rate: float, *, seconds: float) -> float:
    """Commit outbox rows at `rate` from a producer process; return the rate it achieved."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.backbone_producer", url, str(rate), str(seconds), stdout=asyncio.subprocess.PIPE
    )
    output, _ = await asyncio.wait_for(process.communicate(), 300)
    return float(output.decode().split()[2])


class Consumer:
    """The consuming service, in its own process."""

    def __init__(self, url: str, nats_url: str) -> None:
        self.args = [sys.executable, "-m", "bench.backbone_consumer", url, nats_url]

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *self.args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        assert (await self._line()) == "ready"

    async def _line(self) -> str:
        assert self.process.stdout is not None
        return (await asyncio.wait_for(self.process.stdout.readline(), 180)).decode().strip()

    async def expect(self, n: int) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"expect {n}\n".encode())
        await self.process.stdin.drain()

    async def done(self) -> tuple[float, float]:
        _, _count, p50, p99 = (await self._line()).split()
        return float(p50), float(p99)

    async def stop(self) -> None:
        try:
            assert self.process.stdin is not None
            self.process.stdin.write(b"quit\n")
            await self.process.stdin.drain()
            await asyncio.wait_for(self.process.wait(), 30)
        finally:
            if self.process.returncode is None:
                self.process.kill()


class Publisher:
    """The publishing service: units of work writing the outbox, and the relay."""

    def __init__(self, url: str, nats_url: str) -> None:
        self.database = Database(url, pool_size=CONCURRENCY)
        self.uow = UnitOfWork(self.database, source="bench")
        self.nats = NatsConnection(nats_url, name="bench", on_connect=self._provision)
        self.relay_task: asyncio.Task[None] | None = None

    async def _provision(self, js) -> None:  # type: ignore[no-untyped-def]
        await ensure_streams(js, [stream_for_context("bench")])

    async def prepare(self) -> None:
        metadata = MetaData()
        event_tables(metadata)
        async with self.database.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            await conn.execute(text(NOTIFY_FUNCTION))
            await conn.execute(text(NOTIFY_TRIGGER))
        self.nats.start()
        await self.nats.wait_ready(15)

    def start_relay(self) -> None:
        self.relay = OutboxRelay(self.database.engine, self.nats, poll_interval_seconds=0.5)
        self.relay_task = asyncio.create_task(self.relay.run())

    async def stop_relay(self) -> None:
        if self.relay_task is not None:
            self.relay.stop()
            await self.relay_task
            self.relay_task = None

    async def commit(self) -> None:
        async with self.uow.begin() as tx:
            await tx.emit(_event())

    async def commit_many(self, count: int) -> None:
        async def worker(n: int) -> None:
            for _ in range(n):
                await self.commit()

        await asyncio.gather(*(worker(count // CONCURRENCY) for _ in range(CONCURRENCY)))

    async def close(self) -> None:
        await self.stop_relay()
        await self.nats.close()
        await self.database.dispose()


async def run(scale: int = 1) -> Report:
    count = EVENTS * scale
    async with infrastructure() as infra:
        raw_rate = await raw_inserts(await infra.databases.create("bench_raw"), count)
        url = await infra.databases.create("bench_pipe")
        publisher = Publisher(url, infra.nats.url)
        await publisher.prepare()
        consumer = Consumer(url, infra.nats.url)
        publisher.start_relay()
        await publisher.commit()  # creates the stream before the consumer binds to it
        await consumer.start()
        try:
            await consumer.expect(1 + 20 * CONCURRENCY)  # warm-up, including the event above
            await publisher.commit_many(20 * CONCURRENCY)
            await consumer.done()

            await publisher.stop_relay()
            uow_started = time.perf_counter()
            await publisher.commit_many(count)  # a backlog of committed outbox rows
            uow_rate = count // CONCURRENCY * CONCURRENCY / (time.perf_counter() - uow_started)
            drained = count // CONCURRENCY * CONCURRENCY
            await consumer.expect(drained)
            started = time.perf_counter()
            publisher.start_relay()
            await consumer.done()
            rate = drained / (time.perf_counter() - started)

            target = rate / 2
            await consumer.expect(max(1, int(target * 5)))
            live_rate = await produce(url, target, seconds=5)
            p50, p99 = await consumer.done()
        finally:
            await consumer.stop()
            await publisher.close()
    return Report(
        title="Event backbone: outbox -> JetStream -> inbox",
        scale=scale,
        figures=[
            Figure(
                "backbone events/s (committed outbox to inbox)",
                rate,
                "ev/s",
                baseline_name="raw inserts/s",
                baseline_value=raw_rate,
                goal="ratio >= 0.5",
                met=rate >= 0.5 * raw_rate,
            ),
            Figure(
                "application units of work/s (SQLAlchemy, each one event)",
                uow_rate,
                "tx/s",
                baseline_name="raw inserts/s",
                baseline_value=raw_rate,
            ),
            Figure("p50 commit-to-inbox lag at half load", p50, "ms"),
            Figure("p99 commit-to-inbox lag at half load", p99, "ms", better="lower", goal="< 200 ms", met=p99 < 200),
        ],
        notes=[
            f"{drained} events drained; raw inserts from {CONCURRENCY} connections; "
            f"lag over 5 s of outbox rows committed at {live_rate:,.0f} ev/s (target {target:,.0f}); "
            "producer, relay and consumer in separate processes",
        ],
    )
