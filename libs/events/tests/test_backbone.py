"""The event backbone against real PostgreSQL and NATS JetStream: outbox, relay, inbox, dead letters."""

from __future__ import annotations

import uuid

import nats
import pytest
from opentelemetry import trace

from training_events import Headers
from training_runtime.telemetry import setup_telemetry
from training_testkit import wait_until

from .conftest import SUBJECT, Backbone, Payload, thing


async def test_event_committed_while_nats_is_down_is_published_once_nats_is_back(backbone: Backbone) -> None:
    backbone.consumer()
    backbone.nats_server.stop()
    await wait_until(lambda: not backbone.nats.connected, what="the client to notice NATS is gone")

    event = thing()
    await backbone.emit(event)
    assert await backbone.outbox_unpublished() == 1

    backbone.nats_server.start()
    rows = await wait_until(backbone.effect_rows, timeout=20, what="the event to be consumed")
    assert [(r.event_id, r.user_id) for r in rows] == [(event.event_id, event.message.user_id)]
    await wait_until(lambda: _published(backbone), what="the outbox row to be marked published")


async def _published(backbone: Backbone) -> bool:
    return await backbone.outbox_unpublished() == 0


async def test_event_delivered_twice_changes_state_once(backbone: Backbone) -> None:
    """The inbox makes a second delivery of the same event id a no-op (redelivery, republish)."""
    runner = backbone.consumer()
    event = thing()
    await backbone.emit(event)
    await wait_until(backbone.effect_rows, what="the first delivery")
    # Publish the very same event again once JetStream's duplicate window (1 s here) has passed, so
    # the stream really delivers it a second time.
    client = await nats.connect(backbone.nats_server.url)
    try:
        ack = await wait_until(
            lambda: _republish(client, event), timeout=10, interval=0.3, what="JetStream to accept the republish"
        )
        assert not ack.duplicate
    finally:
        await client.close()
    await wait_until(lambda: runner.stats.duplicates_total == 1, what="the duplicate to be recognised")
    assert len(await backbone.effect_rows()) == 1
    assert backbone.attempts[event.message.user_id] == 1


async def _republish(client, event):  # type: ignore[no-untyped-def]
    ack = await client.jetstream().publish(
        SUBJECT,
        event.message.SerializeToString(),
        headers={Headers.MSG_ID: str(event.event_id), Headers.TIME: "2026-01-01T00:00:00Z"},
    )
    return ack if not ack.duplicate else None


async def test_rolled_back_transaction_publishes_nothing(backbone: Backbone) -> None:
    backbone.consumer()
    doomed = thing()
    with pytest.raises(RuntimeError, match="changed my mind"):
        async with backbone.uow.begin() as tx:
            await tx.emit(doomed)
            raise RuntimeError("changed my mind")
    survivor = thing()
    await backbone.emit(survivor)
    rows = await wait_until(backbone.effect_rows, what="the committed event")
    # Outbox order is commit order, so had the rolled-back event been published it would be here first.
    assert [r.event_id for r in rows] == [survivor.event_id]
    assert backbone.attempts.get(doomed.message.user_id) is None


async def test_trace_id_survives_publish_and_consume(backbone: Backbone) -> None:
    setup_telemetry("backbone-tests")
    backbone.consumer()
    tracer = trace.get_tracer("tests")
    with tracer.start_as_current_span("register trainee") as span:
        event = thing()
        await backbone.emit(event)
        expected = f"{span.get_span_context().trace_id:032x}"
    rows = await wait_until(backbone.effect_rows, what="the event to be consumed")
    assert rows[0].trace_id == expected


async def test_failing_handler_is_retried_and_its_effect_commits_once(backbone: Backbone) -> None:
    backbone.fail = lambda message, ctx: ctx.delivery < 3
    runner = backbone.consumer(retry_delays_seconds=(0.05,))
    event = thing()
    await backbone.emit(event)
    rows = await wait_until(backbone.effect_rows, timeout=15, what="the third delivery to succeed")
    assert len(rows) == 1
    assert backbone.attempts[event.message.user_id] == 3
    assert runner.stats.retries_total == 2


async def test_event_that_keeps_failing_goes_to_the_dead_letter_subject(backbone: Backbone) -> None:
    backbone.fail = lambda message, ctx: True
    runner = backbone.consumer(max_deliver=3, retry_delays_seconds=(0.05,))
    event = thing()
    await backbone.emit(event)
    await wait_until(lambda: runner.stats.dead_lettered_total == 1, timeout=15, what="dead-lettering")
    dead = await _dead_letters(backbone)
    assert len(dead) == 1
    assert dead[0].headers[Headers.ORIGINAL_SUBJECT] == SUBJECT
    assert "failed 3 times" in dead[0].headers[Headers.DEAD_LETTER_REASON]
    assert Payload.FromString(dead[0].data).user_id == event.message.user_id
    assert await backbone.effect_rows() == []


async def test_undecodable_event_is_dead_lettered_at_once(backbone: Backbone) -> None:
    runner = backbone.consumer()
    client = await nats.connect(backbone.nats_server.url)
    try:
        await client.jetstream().publish(SUBJECT, b"\xff\xff not protobuf", headers={Headers.MSG_ID: str(uuid.uuid4())})
    finally:
        await client.close()
    await wait_until(lambda: runner.stats.dead_lettered_total == 1, what="dead-lettering")
    dead = await _dead_letters(backbone)
    assert "payload is not a" in dead[0].headers[Headers.DEAD_LETTER_REASON]


async def _dead_letters(backbone: Backbone) -> list:
    client = await nats.connect(backbone.nats_server.url)
    try:
        sub = await client.jetstream().pull_subscribe("training.deadletter.>", stream="TRAINING_DEADLETTER")
        return await sub.fetch(10, timeout=2)
    finally:
        await client.close()


async def test_events_are_consumed_in_commit_order(backbone: Backbone) -> None:
    backbone.consumer(batch_size=7)
    events = [thing(f"user-{i:03d}") for i in range(40)]
    for event in events:
        await backbone.emit(event)
    rows = await wait_until(lambda: _at_least(backbone, 40), timeout=20, what="all events")
    assert [r.user_id for r in rows] == [e.message.user_id for e in events]


async def _at_least(backbone: Backbone, n: int) -> list | None:
    rows = await backbone.effect_rows()
    return rows if len(rows) >= n else None


async def test_second_relay_on_the_same_database_stands_by(backbone: Backbone) -> None:
    import asyncio

    from training_events import OutboxRelay

    backbone.consumer()
    standby = OutboxRelay(backbone.database.engine, backbone.nats, poll_interval_seconds=0.2)
    task = asyncio.create_task(standby.run())
    try:
        events = [thing() for _ in range(20)]
        for event in events:
            await backbone.emit(event)
        rows = await wait_until(lambda: _at_least(backbone, 20), timeout=20, what="all events")
        assert len(rows) == 20
        assert [backbone.relay.stats.is_leader, standby.stats.is_leader].count(True) == 1
        assert backbone.relay.stats.published_total + standby.stats.published_total == 20
    finally:
        standby.stop()
        await asyncio.wait_for(task, 10)
