"""Accounts, institutions, refresh tokens, and the event tables.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from training_events.schema import create_event_tables, drop_event_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    create_event_tables()
    op.create_table(
        "institutions",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("credit_code", sa.Text, nullable=False, unique=True),
        sa.Column("region_code", sa.Text, nullable=False),
        sa.Column("qualification_types", sa.ARRAY(sa.Text), nullable=False),
        sa.Column("operation_types", sa.ARRAY(sa.Text), nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("status_reason", sa.Text, nullable=False, server_default=""),
        sa.Column("status_changed_at", TZ, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("created_by", sa.Uuid, nullable=False),
    )
    op.create_index("institutions_region", "institutions", ["region_code"])
    op.create_table(
        "institution_status_changes",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("institution_id", sa.Uuid, sa.ForeignKey("institutions.id"), nullable=False),
        sa.Column("from_status", sa.Text, nullable=False),
        sa.Column("to_status", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("actor_id", sa.Text, nullable=False),
        sa.Column("actor_role", sa.Text, nullable=False),
        sa.Column("changed_at", TZ, nullable=False),
    )
    op.create_index("ix_institution_status_changes_institution_id", "institution_status_changes", ["institution_id"])
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("username", sa.Text, unique=True),
        sa.Column("national_id_enc", sa.LargeBinary),
        sa.Column("national_id_hash", sa.LargeBinary, unique=True),
        sa.Column("phone_enc", sa.LargeBinary),
        sa.Column("phone_hash", sa.LargeBinary, unique=True),
        sa.Column("employer_name", sa.Text),
        sa.Column("employer_credit_code", sa.Text),
        sa.Column("institution_id", sa.Uuid, sa.ForeignKey("institutions.id")),
        sa.Column("region_code", sa.Text),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("password_changed_at", TZ, nullable=False),
        sa.Column("recent_failures", sa.ARRAY(TZ), nullable=False, server_default=sa.text("'{}'")),
        sa.Column("locked_until", TZ),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("created_by", sa.Text),
    )
    op.create_index("users_created", "users", ["created_at", "id"])
    op.create_index("users_institution", "users", ["institution_id"])
    op.create_index("users_employer", "users", ["employer_credit_code"])
    op.create_index("users_region", "users", ["region_code"])
    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("family_id", sa.Uuid, nullable=False),
        sa.Column("user_id", sa.Uuid, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("token_hash", sa.LargeBinary, nullable=False, unique=True),
        sa.Column("issued_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("used_at", TZ),
        sa.Column("revoked_at", TZ),
        sa.Column("revoke_reason", sa.Text),
    )
    op.create_index("ix_refresh_tokens_family_id", "refresh_tokens", ["family_id"])
    op.create_index("ix_refresh_tokens_user_id", "refresh_tokens", ["user_id"])


def downgrade() -> None:
    for table in ("refresh_tokens", "users", "institution_status_changes", "institutions"):
        op.drop_table(table)
    drop_event_tables()
