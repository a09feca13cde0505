"""The platform's event backbone.

- `Event` and `add_to_outbox`: write an event in the same transaction as the state change.
- `OutboxRelay`: publishes committed outbox rows to JetStream, `Nats-Msg-Id` = event id.
- `ConsumerRunner`: durable pull consumers that record each event id in an inbox table in the same
  transaction as their effect, ack after commit, and dead-letter after bounded redelivery.
- `StreamSpec`/`ensure_streams`: idempotent stream provisioning.
"""

from training_events.connection import NatsConnection
from training_events.consumer import (
    ConsumerRunner,
    ConsumerSpec,
    EventContext,
    PermanentEventError,
    Subscription,
)
from training_events.envelope import Event, Headers, subject_context
from training_events.outbox import add_to_outbox
from training_events.relay import OutboxRelay
from training_events.schema import event_tables
from training_events.streams import (
    DEAD_LETTER_STREAM,
    StreamSpec,
    ensure_streams,
    stream_for_context,
    stream_for_subject,
)

__all__ = [
    "DEAD_LETTER_STREAM",
    "ConsumerRunner",
    "ConsumerSpec",
    "Event",
    "EventContext",
    "Headers",
    "NatsConnection",
    "OutboxRelay",
    "PermanentEventError",
    "StreamSpec",
    "Subscription",
    "add_to_outbox",
    "ensure_streams",
    "event_tables",
    "stream_for_context",
    "stream_for_subject",
    "subject_context",
]
