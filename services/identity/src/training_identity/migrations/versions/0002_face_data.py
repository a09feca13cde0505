"""Face data: consents, encrypted baselines and snapshots, face-check records, the face-data access
log and deletion proofs.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "face_consents",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("retention_days", sa.Integer, nullable=False),
        sa.Column("consented_at", TZ, nullable=False),
        sa.Column("retain_until", TZ, nullable=False),
        sa.Column("withdrawn_at", TZ),
    )
    op.create_index("face_consents_user", "face_consents", ["user_id", "consented_at"])
    op.create_table(
        "face_snapshots",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("image_enc", sa.LargeBinary, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_face_snapshots_user_id", "face_snapshots", ["user_id"])
    op.create_table(
        "face_baselines",
        sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("embedding_enc", sa.LargeBinary, nullable=False),
        sa.Column("snapshot_id", sa.Uuid, sa.ForeignKey("face_snapshots.id"), nullable=False),
        sa.Column("consent_id", sa.Uuid, sa.ForeignKey("face_consents.id"), nullable=False),
        sa.Column("face_width", sa.Integer, nullable=False),
        sa.Column("face_height", sa.Integer, nullable=False),
        sa.Column("enrolled_at", TZ, nullable=False),
    )
    op.create_table(
        "face_checks",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("distance", sa.Float),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("faces_found", sa.Integer, nullable=False),
        sa.Column("context_ref", sa.Text, nullable=False, server_default=""),
        sa.Column("snapshot_id", sa.Uuid, sa.ForeignKey("face_snapshots.id", ondelete="SET NULL")),
        sa.Column("checked_at", TZ, nullable=False),
        sa.Column("checked_by", sa.Text, nullable=False),
        sa.Column("checked_by_role", sa.Text, nullable=False),
    )
    op.create_index("face_checks_user", "face_checks", ["user_id", "checked_at", "id"])
    # The snapshot foreign key is looked up when a deletion removes snapshots.
    op.create_index("face_checks_snapshot", "face_checks", ["snapshot_id"])
    op.create_table(
        "face_data_access",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("user_id", sa.Uuid, nullable=False),
        sa.Column("actor_id", sa.Text, nullable=False),
        sa.Column("actor_role", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("object_id", sa.Text, nullable=False, server_default=""),
        sa.Column("accessed_at", TZ, nullable=False),
    )
    op.create_index("face_data_access_user", "face_data_access", ["user_id", "accessed_at"])
    op.create_table(
        "face_data_deletions",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("user_id", sa.Uuid, nullable=False),
        sa.Column("actor_id", sa.Text, nullable=False),
        sa.Column("actor_role", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("deleted_at", TZ, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("records_deleted", sa.Integer, nullable=False),
        sa.Column("digest", sa.Text, nullable=False),
    )
    op.create_index("ix_face_data_deletions_user_id", "face_data_deletions", ["user_id"])


def downgrade() -> None:
    for table in (
        "face_data_deletions",
        "face_data_access",
        "face_checks",
        "face_baselines",
        "face_snapshots",
        "face_consents",
    ):
        op.drop_table(table)
