"""Trainee enrollments learnt from courses, for institution and regulator visibility.

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
    op.create_table(
        "trainee_enrollments",
        sa.Column("enrollment_id", sa.Uuid, primary_key=True),
        sa.Column("user_id", sa.Uuid, nullable=False),
        sa.Column("institution_id", sa.Uuid, nullable=False),
        sa.Column("region_code", sa.Text, nullable=False),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_trainee_enrollments_user_id", "trainee_enrollments", ["user_id"])
    op.create_index("ix_trainee_enrollments_institution_id", "trainee_enrollments", ["institution_id"])


def downgrade() -> None:
    op.drop_table("trainee_enrollments")
