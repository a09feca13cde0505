"""Reading what a service published (the events of one subject and key on a JetStream stream), and
publishing events as another service's relay would."""

from __future__ import annotations

from datetime import UTC, datetime

import nats
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy

from training_events import Event, Headers, ensure_streams, stream_for_subject
from training_events.envelope import format_time


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


class EventPublisher:
    """Publishes events onto JetStream exactly as the owning service's outbox relay does: the same
    subject, serialized payload and headers (event id as Nats-Msg-Id, type, source, time, key).

    For tests and benchmarks of a consumer whose publisher is not part of the scenario: the event is
    the contract, and this is the real backbone carrying it.
    """

    def __init__(self, nats_url: str) -> None:
        self._url = nats_url
        self._client: nats.NATS | None = None
        self._streams: set[str] = set()
        self._sequence = 0

    async def __aenter__(self) -> EventPublisher:
        self._client = await nats.connect(self._url)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._client is not None:
            await self._client.close()

    async def publish(self, event: Event, *, source: str) -> None:
        """Publish and wait for JetStream's acknowledgement (the stream is created if missing)."""
        assert self._client is not None, "use `async with EventPublisher(url) as publisher`"
        js = self._client.jetstream()
        spec = stream_for_subject(event.subject)
        if spec.name not in self._streams:
            await ensure_streams(js, [spec])
            self._streams.add(spec.name)
        self._sequence += 1
        headers = {
            Headers.MSG_ID: str(event.event_id),
            Headers.TYPE: event.event_type,
            Headers.SOURCE: source,
            Headers.TIME: format_time(event.occurred_at or datetime.now(UTC)),
            Headers.KEY: event.key,
            Headers.SEQUENCE: str(self._sequence),
        }
        await js.publish(event.subject, event.message.SerializeToString(deterministic=True), headers=headers)
