"""Retention: when each trainee's records and face snapshots may be deleted, and proof of the
retention job's deletions and erasures (docs/records.md, "Retention").

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Enrollments learnt before courses published these: NULL, read as IDENTITY_RETENTION_DEFAULT_YEARS.
    op.add_column("trainee_enrollments", sa.Column("qualification_type", sa.Text))
    op.add_column("trainee_enrollments", sa.Column("retention_years", sa.Integer))
    op.add_column("users", sa.Column("retention_until", TZ))
    op.add_column("users", sa.Column("erased_at", TZ))
    op.create_index("ix_users_retention_until", "users", ["retention_until"])
    op.add_column("face_snapshots", sa.Column("retention_until", TZ))
    op.create_index("ix_face_snapshots_retention_until", "face_snapshots", ["retention_until"])
    op.add_column("face_data_deletions", sa.Column("run_id", sa.Uuid))
    op.add_column("face_data_deletions", sa.Column("records_retained", sa.Integer, nullable=False, server_default="0"))
    op.create_table(
        "retention_runs",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("trigger", sa.Text, nullable=False),
        sa.Column("dry_run", sa.Boolean, nullable=False),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("finished_at", TZ),
        sa.Column("snapshots_deleted", sa.Integer, nullable=False, server_default="0"),
        sa.Column("baselines_deleted", sa.Integer, nullable=False, server_default="0"),
        sa.Column("users_erased", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "personal_data_erasures",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("user_id", sa.Uuid, nullable=False, index=True),
        sa.Column("run_id", sa.Uuid, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("retention_until", TZ, nullable=False),
        sa.Column("erased_at", TZ, nullable=False),
        sa.Column("fields", sa.Text, nullable=False),
        sa.Column("digest", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("personal_data_erasures")
    op.drop_table("retention_runs")
    op.drop_column("face_data_deletions", "records_retained")
    op.drop_column("face_data_deletions", "run_id")
    op.drop_index("ix_face_snapshots_retention_until", "face_snapshots")
    op.drop_column("face_snapshots", "retention_until")
    op.drop_index("ix_users_retention_until", "users")
    op.drop_column("users", "erased_at")
    op.drop_column("users", "retention_until")
    op.drop_column("trainee_enrollments", "retention_years")
    op.drop_column("trainee_enrollments", "qualification_type")
