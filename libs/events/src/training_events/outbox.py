"""Writing events to the outbox inside the caller's transaction."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncConnection

from training_events.envelope import Event, Headers, format_time
from training_events.schema import event_tables
from training_events.tracing import current_trace_headers

_tables = event_tables(MetaData())
# One statement object for every call, so SQLAlchemy compiles it once and reuses the cached form.
_INSERT = _tables.outbox.insert()


def outbox_row(event: Event, *, source: str, now: datetime | None = None) -> dict[str, object]:
    """The outbox row for `event`: payload, and the headers the relay publishes with it.

    The current trace context is stored with the event so the relay and consumers continue the trace.
    """
    occurred_at = event.occurred_at or now or datetime.now(UTC)
    return {
        "event_id": event.event_id,
        "subject": event.subject,
        "event_type": event.event_type,
        "event_key": event.key,
        "payload": event.message.SerializeToString(deterministic=True),
        "headers": {
            Headers.MSG_ID: str(event.event_id),
            Headers.TYPE: event.event_type,
            Headers.SOURCE: source,
            Headers.TIME: format_time(occurred_at),
            Headers.KEY: event.key,
            **current_trace_headers(),
        },
        "occurred_at": occurred_at,
    }


async def add_to_outbox(session: AsyncConnection, event: Event, *, source: str, now: datetime | None = None) -> None:
    """Insert `event` into the outbox in the connection's open transaction.

    Nothing is published until the transaction commits; if it rolls back, the event is gone with it.
    """
    await session.execute(_INSERT, outbox_row(event, source=source, now=now))
