"""Retention: each enrollment's rulebook years, the date its certificate is kept until, and the proof
of each holder erasure.

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
    op.add_column("enrollment_facts", sa.Column("retention_years", sa.Integer))
    op.add_column("enrollment_facts", sa.Column("retention_until", sa.DateTime(timezone=True)))
    op.create_table(
        "certificate_erasures",
        sa.Column("certificate_id", sa.Uuid, primary_key=True),
        sa.Column("enrollment_id", sa.Uuid, nullable=False),
        sa.Column("retention_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("digest", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("certificate_erasures")
    op.drop_column("enrollment_facts", "retention_until")
    op.drop_column("enrollment_facts", "retention_years")
