"""The push queue (order keys, leases, records and their status), daily batches, regulator commands, the command feed's cursor, and the event tables.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from training_events.schema import create_event_tables, drop_event_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_event_tables()
    op.create_table(
        "daily_batches",
        sa.Column("batch_date", sa.Date(), nullable=False),
        sa.Column("batch_id", sa.Text(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("newly_stored", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("batch_date"),
    )
    op.create_table(
        "feed_cursors",
        sa.Column("feed", sa.Text(), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("feed"),
    )
    op.create_table(
        "order_keys",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("next_sequence", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "push_leases",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "push_records",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("record_type", sa.Text(), nullable=False),
        sa.Column("operation", sa.Text(), nullable=False),
        sa.Column("order_key", sa.Text(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("region_code", sa.Text(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=True),
        sa.Column("trainee_id", sa.Uuid(), nullable=True),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("needs_person", sa.Boolean(), nullable=False),
        sa.Column("hours", sa.Double(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("receipt_id", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
        sa.UniqueConstraint("order_key", "sequence", name="uq_push_records_order"),
    )
    op.create_index("ix_push_records_created", "push_records", ["created_at", "id"], unique=False)
    op.create_index("ix_push_records_day", "push_records", ["day"], unique=False)
    op.create_index(
        "ix_push_records_open",
        "push_records",
        ["order_key", "sequence"],
        unique=False,
        postgresql_where=sa.text("status <> 'acknowledged'"),
    )
    op.create_index("ix_push_records_region_type", "push_records", ["region_code", "record_type"], unique=False)
    op.create_table(
        "regulator_commands",
        sa.Column("command_id", sa.Text(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("command_type", sa.Text(), nullable=False),
        sa.Column("region_code", sa.Text(), nullable=False),
        sa.Column("target_id", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome_reported", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("command_id"),
        sa.UniqueConstraint("id"),
    )
    op.create_index("ix_regulator_commands_received", "regulator_commands", ["received_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_table("regulator_commands")
    op.drop_table("push_records")
    op.drop_table("push_leases")
    op.drop_table("order_keys")
    op.drop_table("feed_cursors")
    op.drop_table("daily_batches")
    drop_event_tables()
