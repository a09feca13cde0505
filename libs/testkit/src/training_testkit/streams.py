"""Reading what a service published: the events of one subject and key on a JetStream stream."""

from __future__ import annotations

import nats
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy

from training_events import Headers


async def published(nats_url: str, stream: str, subject: str, key: str) -> list[Msg]:
    """Every message on `stream` matching `subject` (wildcards allowed) whose event key is `key`, in order."""
    client = await nats.connect(nats_url)
    try:
        js = client.jetstream()
        sub = await js.pull_subscribe(subject, stream=stream, config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL))
        found: list[Msg] = []
        try:
            while True:
                batch = await sub.fetch(500, timeout=0.5)
                found += [m for m in batch if (m.headers or {}).get(Headers.KEY) == key]
        except (nats.errors.TimeoutError, TimeoutError):
            pass
        await sub.unsubscribe()
        return found
    finally:
        await client.close()
