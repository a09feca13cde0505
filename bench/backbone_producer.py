"""The producing side of the backbone benchmark's lag phase, in its own process: commits outbox rows
(built by the real `outbox_row`, firing the real wake-up trigger) at a fixed rate with asyncpg.

Usage: python -m bench.backbone_producer URL RATE SECONDS  -> prints `produced <count> <rate>`.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import asyncpg

from training.identity.v1 import identity_events_pb2
from training_events import Event
from training_events.outbox import outbox_row

SUBJECT = "training.bench.thing.happened.v1"
CONNECTIONS = 16
COLUMNS = ("event_id", "subject", "event_type", "event_key", "payload", "headers", "occurred_at")


async def _json_codec(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def main(url: str, rate: float, seconds: float) -> None:
    count = max(1, int(rate * seconds))
    pool = await asyncpg.create_pool(url, min_size=CONNECTIONS, max_size=CONNECTIONS, init=_json_codec)
    placeholders = ", ".join(f"${i + 1}" for i in range(len(COLUMNS)))
    statement = f"INSERT INTO outbox ({', '.join(COLUMNS)}) VALUES ({placeholders})"  # noqa: S608

    async def insert() -> None:
        async with pool.acquire() as conn:
            # The event's time is taken with a connection in hand, so the lag the consumer reports
            # starts at the insert, not while this producer queues for a connection.
            event = Event(subject=SUBJECT, key="k", message=identity_events_pb2.UserRegistered(user_id="u"))
            row = outbox_row(event, source="bench")
            await conn.execute(statement, *(row[c] for c in COLUMNS))

    started = time.perf_counter()
    pending = []
    for i in range(count):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        pending.append(asyncio.create_task(insert()))
    await asyncio.gather(*pending)
    elapsed = time.perf_counter() - started
    await pool.close()
    print(f"produced {count} {count / elapsed:.1f}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2]), float(sys.argv[3])))
