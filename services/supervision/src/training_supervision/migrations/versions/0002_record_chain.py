"""Push records' and receipts' chains (docs/records.md): push_receipts (one row per acknowledgement, from the records acknowledged already), record_links, record_chain_heads, and links for what exists, in queue and acknowledgement order.

Revision ID: 0002
Revises: 0001
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from training_records.migration import create_record_chains, drop_record_chains
from training_supervision.chains import CHAINS

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "push_receipts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("push_record_id", sa.Uuid(), nullable=False),
        sa.Column("receipt_id", sa.Text(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("push_record_id", "receipt_id", name="uq_push_receipts_receipt"),
    )
    op.execute(
        "INSERT INTO push_receipts (id, push_record_id, receipt_id, acknowledged_at) "
        "SELECT gen_random_uuid(), id, coalesce(receipt_id, ''), acknowledged_at FROM push_records "
        "WHERE status = 'acknowledged' AND acknowledged_at IS NOT NULL"
    )
    create_record_chains(CHAINS, datetime.now(UTC))


def downgrade() -> None:
    drop_record_chains()
    op.drop_table("push_receipts")
