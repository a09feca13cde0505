"""Durable pull consumers with an inbox: each event's effect commits at most once.

For every fetched batch the runner opens one transaction, records the event ids in the `inbox`
table (a redelivered id is already there, so its handler is skipped), runs the handlers, commits,
and only then acks. If any handler in the batch fails, the batch is rolled back and replayed one
event at a time, so one bad event cannot hold back the others. A failing event is retried with
backoff (`nak`) up to `max_deliver` deliveries; then, or at once for an event that can never succeed
(unknown subject, undecodable payload, `PermanentEventError`), it goes to the dead-letter subject
`training.deadletter.<durable>` and is terminated, with an error log that alerts an operator.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import nats.errors
from google.protobuf.message import DecodeError, Message
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import MetaData
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from training_events.connection import NatsConnection
from training_events.envelope import Event, Headers, parse_time
from training_events.outbox import add_to_outbox
from training_events.schema import event_tables
from training_events.streams import DEAD_LETTER_PREFIX
from training_events.tracing import consume_span

log = logging.getLogger(__name__)

_inbox = event_tables(MetaData()).inbox
# Executed with a list of rows: SQLAlchemy batches them into one multi-row INSERT ... RETURNING
# ("insertmanyvalues") from a statement compiled once.
_RECORD = insert(_inbox).on_conflict_do_nothing().returning(_inbox.c.event_id)


class PermanentEventError(Exception):
    """Raised by a handler for an event that no retry can fix; the event is dead-lettered at once."""


@dataclass
class EventContext:
    """What a handler gets besides the decoded message: the open transaction and the envelope."""

    # The open transaction (SQLAlchemy Core connection) the inbox row is written in.
    session: AsyncConnection
    event_id: uuid.UUID
    subject: str
    key: str
    source: str
    occurred_at: datetime
    headers: Mapping[str, str]
    delivery: int
    publisher: str

    async def emit(self, event: Event) -> None:
        """Write a follow-up event to this service's outbox in the same transaction."""
        await add_to_outbox(self.session, event, source=self.publisher)


Handler = Callable[[EventContext, Any], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    subject: str
    message_type: type[Message]
    handler: Handler


@dataclass(frozen=True)
class ConsumerSpec:
    """A durable consumer `<service>-<purpose>` on one stream."""

    durable: str
    stream: str
    subscriptions: Sequence[Subscription]
    max_deliver: int = 10
    ack_wait_seconds: float = 30.0
    batch_size: int = 64
    fetch_timeout_seconds: float = 1.0
    retry_delays_seconds: Sequence[float] = (0.2, 0.5, 1, 2, 5, 10, 20, 30, 60)

    def config(self) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=self.durable,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait_seconds,
            # Two deliveries of slack beyond our own limit, so an event whose dead-lettering failed
            # (NATS briefly away) is delivered again and dead-lettered then.
            max_deliver=self.max_deliver + 2,
            max_ack_pending=max(1000, self.batch_size * 4),
            filter_subjects=[s.subject for s in self.subscriptions],
        )


@dataclass
class ConsumerStats:
    processed_total: int = 0
    duplicates_total: int = 0
    retries_total: int = 0
    dead_lettered_total: int = 0
    pending: int = 0
    last_error: str | None = None


@dataclass
class _Delivery:
    msg: Msg
    subscription: Subscription
    message: Message
    context_fields: dict[str, Any] = field(default_factory=dict)


class ConsumerRunner:
    def __init__(
        self,
        spec: ConsumerSpec,
        nats: NatsConnection,
        transactions: Callable[[], AbstractAsyncContextManager[AsyncConnection]],
        *,
        publisher: str,
    ) -> None:
        self.spec = spec
        self._nats = nats
        # engine.begin: each call opens a connection in a transaction that commits on exit.
        self._transactions = transactions
        self._publisher = publisher
        self._by_subject = {s.subject: s for s in spec.subscriptions}
        self._stopping = asyncio.Event()
        self._last_lag_check = 0.0
        self.stats = ConsumerStats()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Fetch and process until stopped; a fetched batch is always finished before returning."""
        failures = 0
        while not self._stopping.is_set():
            try:
                await self._wait_for_nats()
                if self._stopping.is_set():
                    return
                js = self._nats.jetstream()
                await js.add_consumer(self.spec.stream, config=self.spec.config())
                sub = await js.pull_subscribe_bind(durable=self.spec.durable, stream=self.spec.stream)
                failures = 0
                try:
                    await self._fetch_loop(sub)
                finally:
                    try:
                        await sub.unsubscribe()
                    except Exception:  # the connection may be gone; the durable consumer stays on the server
                        pass
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                delay = min(5.0, 0.2 * 2 ** min(failures, 5))
                log.warning("consumer %s: %s; retrying in %.1fs", self.spec.durable, self.stats.last_error, delay)
                try:
                    await asyncio.wait_for(self._stopping.wait(), delay)
                except TimeoutError:
                    pass

    async def _wait_for_nats(self) -> None:
        while not self._nats.connected and not self._stopping.is_set():
            try:
                await asyncio.wait_for(self._stopping.wait(), 0.2)
            except TimeoutError:
                pass

    async def _fetch_loop(self, sub: Any) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            try:
                msgs = await sub.fetch(self.spec.batch_size, timeout=self.spec.fetch_timeout_seconds)
            except (nats.errors.TimeoutError, TimeoutError):
                msgs = []
            if msgs:
                await self.process(msgs)
            if loop.time() - self._last_lag_check > 5.0:
                self._last_lag_check = loop.time()
                try:
                    info = await sub.consumer_info()
                    self.stats.pending = int(info.num_pending or 0) + int(info.num_ack_pending or 0)
                except Exception:  # lag is informational
                    pass

    async def process(self, msgs: Sequence[Msg]) -> None:
        """Process one fetched batch: decode, then commit all effects together or one by one."""
        deliveries: list[_Delivery] = []
        for msg in msgs:
            delivery = await self._decode(msg)
            if delivery is not None:
                deliveries.append(delivery)
        if not deliveries:
            return
        if len(deliveries) > 1:
            try:
                await self._commit(deliveries)
            except Exception as exc:
                log.info(
                    "consumer %s: batch of %d failed (%s); replaying one by one",
                    self.spec.durable,
                    len(deliveries),
                    exc,
                )
            else:
                await self._ack_all(deliveries)
                return
        for delivery in deliveries:
            try:
                await self._commit([delivery])
            except PermanentEventError as exc:
                await self._dead_letter(delivery.msg, f"handler refused the event: {exc}")
            except Exception as exc:
                await self._retry_or_dead_letter(delivery.msg, exc)
            else:
                await self._ack_all([delivery])

    async def _decode(self, msg: Msg) -> _Delivery | None:
        headers = msg.headers or {}
        subscription = self._by_subject.get(msg.subject)
        if subscription is None:
            await self._dead_letter(msg, f"no handler for subject {msg.subject}")
            return None
        try:
            event_id = uuid.UUID(headers[Headers.MSG_ID])
        except (KeyError, ValueError):
            await self._dead_letter(msg, "missing or malformed event id header")
            return None
        try:
            message = subscription.message_type.FromString(msg.data)
        except DecodeError as exc:
            await self._dead_letter(msg, f"payload is not a {subscription.message_type.DESCRIPTOR.full_name}: {exc}")
            return None
        try:
            occurred_at = parse_time(headers[Headers.TIME])
        except (KeyError, ValueError):
            occurred_at = datetime.now(UTC)
        return _Delivery(
            msg=msg,
            subscription=subscription,
            message=message,
            context_fields={
                "event_id": event_id,
                "subject": msg.subject,
                "key": headers.get(Headers.KEY, ""),
                "source": headers.get(Headers.SOURCE, ""),
                "occurred_at": occurred_at,
                "headers": headers,
                "delivery": msg.metadata.num_delivered or 1,
            },
        )

    async def _commit(self, deliveries: list[_Delivery]) -> None:
        async with self._transactions() as session:
            rows = [
                {"consumer": self.spec.durable, "event_id": d.context_fields["event_id"], "subject": d.msg.subject}
                for d in deliveries
            ]
            fresh = set((await session.execute(_RECORD, rows)).scalars())
            for delivery in deliveries:
                fields = delivery.context_fields
                if fields["event_id"] not in fresh:
                    self.stats.duplicates_total += 1
                    continue
                fresh.discard(fields["event_id"])  # the same id twice in one batch runs once
                with consume_span(delivery.msg.subject, self.spec.durable, fields["headers"]):
                    ctx = EventContext(session=session, publisher=self._publisher, **fields)
                    await delivery.subscription.handler(ctx, delivery.message)

    async def _ack_all(self, deliveries: list[_Delivery]) -> None:
        for delivery in deliveries:
            self.stats.processed_total += 1
            try:
                await delivery.msg.ack()
            except Exception as exc:  # committed already; a redelivery will find the inbox row
                log.info("consumer %s: ack failed after commit (%s); redelivery is a no-op", self.spec.durable, exc)

    async def _retry_or_dead_letter(self, msg: Msg, exc: Exception) -> None:
        delivered = msg.metadata.num_delivered or 1
        self.stats.last_error = f"{type(exc).__name__}: {exc}"
        if delivered >= self.spec.max_deliver:
            await self._dead_letter(msg, f"failed {delivered} times, last: {self.stats.last_error}")
            return
        delays = self.spec.retry_delays_seconds
        delay = delays[min(delivered - 1, len(delays) - 1)]
        self.stats.retries_total += 1
        log.warning(
            "consumer %s: %s delivery %d failed (%s); retry in %ss",
            self.spec.durable,
            msg.subject,
            delivered,
            self.stats.last_error,
            delay,
        )
        try:
            await msg.nak(delay=delay)
        except Exception:  # without a nak the server redelivers after ack_wait
            pass

    async def _dead_letter(self, msg: Msg, reason: str) -> None:
        headers = dict(msg.headers or {})
        original_id = headers.get(Headers.MSG_ID, f"seq-{msg.metadata.sequence.stream}")
        headers.update(
            {
                Headers.MSG_ID: f"{original_id}:{self.spec.durable}",
                Headers.ORIGINAL_SUBJECT: msg.subject,
                Headers.DEAD_LETTER_REASON: reason[:1000],
                Headers.DEAD_LETTER_CONSUMER: self.spec.durable,
            }
        )
        subject = f"{DEAD_LETTER_PREFIX}.{self.spec.durable}"
        try:
            await self._nats.jetstream().publish(subject, msg.data, headers=headers)
        except Exception as exc:
            # Leave the message unacknowledged: it is redelivered and dead-lettered again later.
            log.error("consumer %s: dead-lettering failed (%s); will retry", self.spec.durable, exc)
            return
        self.stats.dead_lettered_total += 1
        log.error(
            "ALERT consumer %s dead-lettered %s event %s: %s",
            self.spec.durable,
            msg.subject,
            headers.get(Headers.MSG_ID),
            reason,
        )
        try:
            await msg.term()
        except Exception:
            pass
