"""The trace context each queued record was written in, so its push continues that trace.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("push_records", sa.Column("trace", postgresql.JSONB))


def downgrade() -> None:
    op.drop_column("push_records", "trace")
