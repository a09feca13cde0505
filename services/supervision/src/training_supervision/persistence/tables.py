"""Supervision's tables: the push queue (records, their order keys and status), daily batches,
regulator commands and the command feed's cursor."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Double,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from training_events import event_tables

metadata = MetaData()
event_tables(metadata)

TZ = DateTime(timezone=True)

# One row per order key (a trainee, or an institution with its courses and classes): the next
# sequence number. Only the consumers that queue records lock these rows.
order_keys = Table(
    "order_keys",
    metadata,
    Column("key", Text, primary_key=True),
    Column("next_sequence", BigInteger, nullable=False),
)

# The lease a pusher holds on an order key while that key's records are in flight. Apart from
# order_keys so that pushers and consumers never wait for each other's row locks.
push_leases = Table(
    "push_leases",
    metadata,
    Column("key", Text, primary_key=True),
    Column("owner", Text, nullable=False),
    Column("until", TZ, nullable=False),
)

push_records = Table(
    "push_records",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("idempotency_key", Text, nullable=False, unique=True),
    Column("record_type", Text, nullable=False),
    Column("operation", Text, nullable=False),
    Column("order_key", Text, nullable=False),
    Column("sequence", BigInteger, nullable=False),
    Column("occurred_at", TZ, nullable=False),
    # The calendar day (China Standard Time) the record belongs to: batches and reconciliation.
    Column("day", Date, nullable=False),
    Column("region_code", Text, nullable=False),
    Column("institution_id", Uuid),
    Column("trainee_id", Uuid),
    # What the province receives, without personal data (added from identity when sent).
    Column("data", JSONB, nullable=False),
    Column("needs_person", Boolean, nullable=False),
    # Figures behind regulators' statistics.
    Column("hours", Double),
    Column("passed", Boolean),
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("next_attempt_at", TZ, nullable=False),
    Column("sent_at", TZ),
    Column("acknowledged_at", TZ),
    Column("receipt_id", Text),
    Column("created_at", TZ, nullable=False),
    # The trace context the record was queued in (W3C headers): its push continues that trace.
    Column("trace", JSONB),
    UniqueConstraint("order_key", "sequence", name="uq_push_records_order"),
    Index(
        "ix_push_records_open",
        "order_key",
        "sequence",
        postgresql_where=text("status <> 'acknowledged'"),
    ),
    Index("ix_push_records_day", "day"),
    Index("ix_push_records_region_type", "region_code", "record_type"),
    Index("ix_push_records_created", "created_at", "id"),
)

# The province's receipts, one row per acknowledgement (append-only, chained): push_records keeps the
# current delivery state, which reconciliation may set back; this keeps every acknowledgement given.
push_receipts = Table(
    "push_receipts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("push_record_id", Uuid, nullable=False),
    # The province's receipt id ("" when its acknowledgement carried none).
    Column("receipt_id", Text, nullable=False),
    Column("acknowledged_at", TZ, nullable=False),
    UniqueConstraint("push_record_id", "receipt_id", name="uq_push_receipts_receipt"),
)

daily_batches = Table(
    "daily_batches",
    metadata,
    Column("batch_date", Date, primary_key=True),
    Column("batch_id", Text, nullable=False),
    Column("records", Integer, nullable=False),
    Column("newly_stored", Integer, nullable=False),
    Column("sent_at", TZ, nullable=False),
)

regulator_commands = Table(
    "regulator_commands",
    metadata,
    Column("command_id", Text, primary_key=True),
    # Keyset paging of the command list.
    Column("id", Uuid, nullable=False, unique=True),
    Column("command_type", Text, nullable=False),
    Column("region_code", Text, nullable=False),
    Column("target_id", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("issued_at", TZ, nullable=False),
    Column("received_at", TZ, nullable=False),
    Column("status", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", TZ, nullable=False),
    Column("settled_at", TZ),
    Column("outcome_reported", Boolean, nullable=False),
    Index("ix_regulator_commands_received", "received_at", "id"),
)

feed_cursors = Table(
    "feed_cursors",
    metadata,
    Column("feed", Text, primary_key=True),
    Column("cursor", Text, nullable=False),
)
