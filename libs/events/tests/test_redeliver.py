"""Redelivering dead letters after the cause is fixed: the event is processed once, and its dead
letter is gone (`python -m training_events redeliver`, docs/operations.md)."""

from __future__ import annotations

from training_events.redeliver import redeliver
from training_testkit import wait_until

from .conftest import Backbone, thing


async def test_a_dead_letter_is_processed_once_when_redelivered_after_the_fix(backbone: Backbone) -> None:
    backbone.fail = lambda message, ctx: True  # the bug
    runner = backbone.consumer(max_deliver=2, retry_delays_seconds=(0.05,))
    event = thing()
    await backbone.emit(event)
    await wait_until(lambda: runner.stats.dead_lettered_total == 1, timeout=15, what="dead-lettering")
    js = backbone.nats.jetstream()

    listed = await redeliver(js, "tests-effects", dry_run=True)
    assert [event_id for event_id, _ in listed.seen] == [str(event.event_id)]
    assert "failed 2 times" in listed.seen[0][1]
    assert listed.redelivered == []
    assert await redeliver(js, "tests-other-consumer") == type(listed)()  # another consumer's letters only

    backbone.fail = lambda message, ctx: False  # the fix is deployed

    async def redelivered() -> list[str]:
        # Within the stream's duplicate window JetStream drops the publish and the letter stays.
        return (await redeliver(js, "tests-effects")).redelivered

    assert await wait_until(redelivered, timeout=15, what="the redelivery") == [str(event.event_id)]
    rows = await wait_until(backbone.effect_rows, timeout=15, what="the event's effect")
    assert [row.event_id for row in rows] == [event.event_id]
    assert (await redeliver(js, "tests-effects", dry_run=True)).seen == []
    assert await backbone.effect_rows() == rows
