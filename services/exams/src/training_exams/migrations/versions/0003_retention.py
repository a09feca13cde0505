"""Retention: each enrollment's rulebook years and the date its attempts are kept until.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Enrollments learnt before this revision keep NULL years and are not dated (docs/records.md).
    op.add_column("enrollments", sa.Column("retention_years", sa.Integer))
    op.add_column("enrollments", sa.Column("retention_until", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("enrollments", "retention_until")
    op.drop_column("enrollments", "retention_years")
