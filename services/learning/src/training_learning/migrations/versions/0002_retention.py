"""Retention: each enrollment's rulebook years and the date its ledger is kept until.

Revision ID: 0002_retention
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_retention"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("enrollments", sa.Column("retention_years", sa.Integer))
    op.add_column("enrollments", sa.Column("retention_until", sa.DateTime(timezone=True)))
    # Enrollments learnt before this revision keep NULL years and are not dated (docs/records.md).


def downgrade() -> None:
    op.drop_column("enrollments", "retention_until")
    op.drop_column("enrollments", "retention_years")
