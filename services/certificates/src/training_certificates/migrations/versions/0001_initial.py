"""Classes, institutions and enrollment facts (from other contexts' events), serial counters, certificates, and the event tables.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from training_events.schema import create_event_tables, drop_event_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_event_tables()
    op.create_table(
        "certificates",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("serial_number", sa.Text(), nullable=False),
        sa.Column("verification_code", sa.Text(), nullable=False),
        sa.Column("enrollment_id", sa.Uuid(), nullable=False),
        sa.Column("class_id", sa.Uuid(), nullable=False),
        sa.Column("trainee_id", sa.Uuid(), nullable=False),
        sa.Column("trainee_name", sa.Text(), nullable=False),
        sa.Column("trainee_national_id", sa.Text(), nullable=False),
        sa.Column("employer_credit_code", sa.Text(), nullable=False),
        sa.Column("qualification_type", sa.Text(), nullable=False),
        sa.Column("operation_type", sa.Text(), nullable=False),
        sa.Column("training_kind", sa.Text(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("institution_name", sa.Text(), nullable=False),
        sa.Column("region_code", sa.Text(), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("topics", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("total_hours", sa.Double(), nullable=False),
        sa.Column("exam_attempt_id", sa.Uuid(), nullable=False),
        sa.Column("exam_score", sa.Double(), nullable=False),
        sa.Column("exam_max_points", sa.Double(), nullable=False),
        sa.Column("exam_pass_mark", sa.Double(), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("qr_token", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revocation_reason", sa.Text(), nullable=True),
        sa.Column("revoked_by", sa.Text(), nullable=True),
        sa.Column("revoked_role", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("enrollment_id"),
        sa.UniqueConstraint("serial_number"),
    )
    op.create_index("ix_certificates_institution_id", "certificates", ["institution_id"], unique=False)
    op.create_index("ix_certificates_issued_at_id", "certificates", ["issued_at", "id"], unique=False)
    op.create_index("ix_certificates_region_code", "certificates", ["region_code"], unique=False)
    op.create_index("ix_certificates_trainee_id", "certificates", ["trainee_id"], unique=False)
    op.create_table(
        "classes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("topics", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "enrollment_facts",
        sa.Column("enrollment_id", sa.Uuid(), nullable=False),
        sa.Column("class_id", sa.Uuid(), nullable=True),
        sa.Column("trainee_id", sa.Uuid(), nullable=True),
        sa.Column("institution_id", sa.Uuid(), nullable=True),
        sa.Column("region_code", sa.Text(), nullable=True),
        sa.Column("employer_credit_code", sa.Text(), nullable=True),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completion", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("final_exam", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("enrollment_id"),
    )
    op.create_index("ix_enrollment_facts_institution_id", "enrollment_facts", ["institution_id"], unique=False)
    op.create_table(
        "institutions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "serial_counters",
        sa.Column("region_code", sa.Text(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("region_code", "year"),
    )


def downgrade() -> None:
    op.drop_table("serial_counters")
    op.drop_table("institutions")
    op.drop_table("enrollment_facts")
    op.drop_table("classes")
    op.drop_table("certificates")
    drop_event_tables()
