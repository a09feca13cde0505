"""A miniature service for the backbone tests: an outbox, a relay, a consumer whose effect is a row
in `effects`, all against real PostgreSQL and a private nats-server the test may stop and restart."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest_asyncio
from opentelemetry import trace
from sqlalchemy import Column, MetaData, Table, Text, Uuid, func, select, text

from training.identity.v1 import identity_events_pb2
from training_devstack.embedded import NatsServer
from training_events import (
    ConsumerRunner,
    ConsumerSpec,
    Event,
    EventContext,
    NatsConnection,
    OutboxRelay,
    StreamSpec,
    Subscription,
    ensure_streams,
    event_tables,
)
from training_events.schema import NOTIFY_FUNCTION, NOTIFY_TRIGGER
from training_events.streams import dead_letter_stream
from training_runtime.db import Database, UnitOfWork

SUBJECT = "training.testing.thing.happened.v1"
STREAM = "TRAINING_TESTING"
Payload = identity_events_pb2.UserRegistered

metadata = MetaData()
tables = event_tables(metadata)
effects = Table(
    "effects",
    metadata,
    Column("event_id", Uuid, nullable=False),
    Column("user_id", Text, nullable=False),
    Column("trace_id", Text, nullable=False),
)


def thing(user_id: str = "") -> Event:
    return Event(subject=SUBJECT, key="thing", message=Payload(user_id=user_id or str(uuid.uuid4())))


@dataclass
class Backbone:
    database: Database
    uow: UnitOfWork
    nats_server: NatsServer
    nats: NatsConnection
    relay: OutboxRelay
    tasks: list = field(default_factory=list)
    runners: list[ConsumerRunner] = field(default_factory=list)
    # Set by a test to make the consumer's handler fail (e.g. to exercise retries).
    fail: Callable[[Payload, EventContext], bool] = lambda _m, _c: False
    attempts: dict[str, int] = field(default_factory=dict)

    async def emit(self, event: Event) -> None:
        async with self.uow.begin() as tx:
            await tx.emit(event)

    async def effect_rows(self) -> list:
        async with self.database.engine.connect() as session:
            return (await session.execute(select(effects))).all()

    async def outbox_unpublished(self) -> int:
        async with self.database.engine.connect() as session:
            return await session.scalar(
                select(func.count()).select_from(tables.outbox).where(tables.outbox.c.published_at.is_(None))
            )

    async def handler(self, ctx: EventContext, message: Payload) -> None:
        self.attempts[message.user_id] = self.attempts.get(message.user_id, 0) + 1
        if self.fail(message, ctx):
            raise RuntimeError(f"handler refused {message.user_id} (attempt {self.attempts[message.user_id]})")
        span = trace.get_current_span().get_span_context()
        await ctx.session.execute(
            effects.insert().values(event_id=ctx.event_id, user_id=message.user_id, trace_id=f"{span.trace_id:032x}")
        )

    def consumer(self, **overrides) -> ConsumerRunner:
        import asyncio

        spec = ConsumerSpec(
            durable=overrides.pop("durable", "tests-effects"),
            stream=STREAM,
            subscriptions=[Subscription(SUBJECT, Payload, self.handler)],
            fetch_timeout_seconds=0.2,
            **overrides,
        )
        runner = ConsumerRunner(spec, self.nats, self.database.engine.begin, publisher="testing")
        self.runners.append(runner)
        self.tasks.append(asyncio.create_task(runner.run()))
        return runner


@pytest_asyncio.fixture
async def backbone(test_databases, nats_factory) -> AsyncIterator[Backbone]:
    import asyncio

    url = await test_databases.create("events")
    database = Database(url, pool_size=5)
    async with database.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(text(NOTIFY_FUNCTION))
        await conn.execute(text(NOTIFY_TRIGGER))
    server = nats_factory()

    async def provision(js) -> None:
        # A short duplicate window lets a test deliver the same event id twice on purpose.
        await ensure_streams(
            js, [StreamSpec(STREAM, ("training.testing.>",), duplicate_window_seconds=1), dead_letter_stream()]
        )

    nats = NatsConnection(server.url, name="backbone-tests", on_connect=provision, reconnect_wait_seconds=0.1)
    nats.start()
    await nats.wait_ready(15)
    relay = OutboxRelay(database.engine, nats, poll_interval_seconds=0.2, backoff_max_seconds=0.5)
    backbone = Backbone(database, UnitOfWork(database, source="testing"), server, nats, relay)
    backbone.tasks.append(asyncio.create_task(relay.run()))
    yield backbone
    for runner in backbone.runners:
        runner.stop()
    relay.stop()
    await asyncio.wait(backbone.tasks, timeout=10)
    await nats.close()
    await database.dispose()
