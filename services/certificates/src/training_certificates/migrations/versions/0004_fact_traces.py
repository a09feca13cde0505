"""The trace context each enrollment fact arrived with, so an issuance links every trace it joins.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("enrollment_facts", sa.Column("traces", postgresql.JSONB))


def downgrade() -> None:
    op.drop_column("enrollment_facts", "traces")
