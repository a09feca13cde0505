"""The consuming side of the backbone benchmark, run as its own process (as a consuming service is).

Reads commands on stdin: `expect N` -> answers `done <consumed> <p50_ms> <p99_ms>` on stdout once N
more events have been committed into its inbox. Lag is commit time (the event's time header) to
the moment the handler runs inside the inbox transaction.
"""

from __future__ import annotations

import asyncio
import sys
import time

from bench.common import percentile
from training.identity.v1 import identity_events_pb2
from training_events import ConsumerRunner, ConsumerSpec, EventContext, NatsConnection, Subscription
from training_runtime.db import Database

SUBJECT = "training.bench.thing.happened.v1"


async def main(database_url: str, nats_url: str) -> None:
    database = Database(database_url, pool_size=4)
    nats = NatsConnection(nats_url, name="bench-consumer")
    nats.start()
    await nats.wait_ready(15)
    state = {"count": 0, "target": None}
    lags: list[float] = []
    reached = asyncio.Event()

    async def handle(ctx: EventContext, message: identity_events_pb2.UserRegistered) -> None:
        lags.append(time.time() - ctx.occurred_at.timestamp())
        state["count"] += 1
        if state["target"] is not None and state["count"] >= state["target"]:
            reached.set()

    runner = ConsumerRunner(
        ConsumerSpec(
            durable="bench-inbox",
            stream="TRAINING_BENCH",
            subscriptions=[Subscription(SUBJECT, identity_events_pb2.UserRegistered, handle)],
            batch_size=256,
        ),
        nats,
        database.engine.begin,
        publisher="bench-consumer",
    )
    task = asyncio.create_task(runner.run())
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print("ready", flush=True)
    while line := (await reader.readline()).decode().strip():
        if line == "quit":
            break
        n = int(line.split()[1])
        lags.clear()
        reached.clear()
        state["count"], state["target"] = 0, n
        await reached.wait()
        print(f"done {state['count']} {percentile(lags, 50) * 1000:.2f} {percentile(lags, 99) * 1000:.2f}", flush=True)
    runner.stop()
    await asyncio.wait_for(task, 10)
    await nats.close()
    await database.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
