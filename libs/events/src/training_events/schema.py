"""The outbox and inbox tables every service database holds, and the migration that creates them.

The migration helpers are frozen: they describe version 1 of these tables, as every service's first
migration created them. A change to the tables is a new helper that a new migration calls.

A service registers the tables on its own SQLAlchemy metadata with `event_tables(metadata)` and
calls `create_event_tables()` / `drop_event_tables()` from its first Alembic migration.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

NOTIFY_CHANNEL = "outbox"


@dataclass(frozen=True)
class EventTables:
    outbox: Table
    inbox: Table


def _define(metadata: MetaData) -> EventTables:
    outbox = Table(
        "outbox",
        metadata,
        Column("seq", BigInteger, Identity(always=True), primary_key=True),
        Column("event_id", Uuid, nullable=False, unique=True),
        Column("subject", Text, nullable=False),
        Column("event_type", Text, nullable=False),
        Column("event_key", Text, nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("headers", JSONB, nullable=False),
        Column("occurred_at", DateTime(timezone=True), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
        Column("published_at", DateTime(timezone=True)),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("last_error", Text),
        Index("outbox_unpublished", "seq", postgresql_where=text("published_at IS NULL")),
        Index("outbox_published_at", "published_at", postgresql_where=text("published_at IS NOT NULL")),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", Text, nullable=False),
        Column("event_id", Uuid, nullable=False),
        Column("subject", Text, nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
        PrimaryKeyConstraint("consumer", "event_id", name="inbox_pkey"),
    )
    return EventTables(outbox=outbox, inbox=inbox)


def event_tables(metadata: MetaData) -> EventTables:
    """The outbox and inbox tables on `metadata`, defined once per metadata."""
    if "outbox" in metadata.tables:
        return EventTables(outbox=metadata.tables["outbox"], inbox=metadata.tables["inbox"])
    return _define(metadata)


NOTIFY_FUNCTION = f"""
CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('{NOTIFY_CHANNEL}', '');
  RETURN NULL;
END $$
"""

NOTIFY_TRIGGER = (
    "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()"
)


def create_event_tables() -> None:
    """Alembic operations creating the outbox (with its commit-time wake-up trigger) and the inbox."""
    from alembic import op

    tables = _define(MetaData())
    bind = op.get_bind()
    tables.outbox.create(bind)
    tables.inbox.create(bind)
    op.execute(NOTIFY_FUNCTION)
    op.execute(NOTIFY_TRIGGER)


def drop_event_tables() -> None:
    from alembic import op

    op.execute("DROP TRIGGER IF EXISTS outbox_notify ON outbox")
    op.execute("DROP FUNCTION IF EXISTS outbox_notify()")
    op.drop_table("inbox")
    op.drop_table("outbox")
