"""Classes and enrollments (from courses' events), study sessions, heartbeats, face checks, the append-only ledger, anomalies, and the event tables.

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
        "active_sessions",
        sa.Column("trainee_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("trainee_id"),
    )
    op.create_table(
        "anomalies",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("enrollment_id", sa.Uuid(), nullable=False),
        sa.Column("trainee_id", sa.Uuid(), nullable=False),
        sa.Column("class_id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.Text(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=True),
        sa.Column("lesson_id", sa.Uuid(), nullable=True),
        sa.Column("face_check_ids", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by", sa.Text(), nullable=True),
        sa.Column("reviewed_role", sa.Text(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_comment", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("anomalies_raised", "anomalies", ["raised_at", "id"], unique=False)
    op.create_index(op.f("ix_anomalies_enrollment_id"), "anomalies", ["enrollment_id"], unique=False)
    op.create_index(op.f("ix_anomalies_institution_id"), "anomalies", ["institution_id"], unique=False)
    op.create_table(
        "class_lessons",
        sa.Column("class_id", sa.Uuid(), nullable=False),
        sa.Column("lesson_id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("topic_id", sa.Uuid(), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("class_id", "lesson_id"),
    )
    op.create_table(
        "class_topics",
        sa.Column("class_id", sa.Uuid(), nullable=False),
        sa.Column("topic_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("required_hours", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("class_id", "topic_id"),
    )
    op.create_table(
        "classes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.Text(), nullable=False),
        sa.Column("syllabus_id", sa.Uuid(), nullable=False),
        sa.Column("qualification_type", sa.Text(), nullable=False),
        sa.Column("operation_type", sa.Text(), nullable=False),
        sa.Column("training_kind", sa.Text(), nullable=False),
        sa.Column("rulebook_version", sa.Text(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "course_finishes",
        sa.Column("enrollment_id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("enrollment_id", "course_id"),
    )
    op.create_table(
        "daily_credits",
        sa.Column("trainee_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Text(), nullable=False),
        sa.Column("credited_seconds", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("trainee_id", "day"),
    )
    op.create_table(
        "enrollments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("class_id", sa.Uuid(), nullable=False),
        sa.Column("trainee_id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.Text(), nullable=False),
        sa.Column("employer_credit_code", sa.Text(), nullable=False),
        sa.Column("frozen", sa.Boolean(), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_enrollments_class_id"), "enrollments", ["class_id"], unique=False)
    op.create_index(op.f("ix_enrollments_institution_id"), "enrollments", ["institution_id"], unique=False)
    op.create_index(op.f("ix_enrollments_trainee_id"), "enrollments", ["trainee_id"], unique=False)
    op.create_table(
        "face_checks",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("enrollment_id", sa.Uuid(), nullable=False),
        sa.Column("trainee_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("distance", sa.Double(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_face_checks_enrollment_id"), "face_checks", ["enrollment_id"], unique=False)
    op.create_table(
        "handovers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("trainee_id", sa.Uuid(), nullable=False),
        sa.Column("from_session_id", sa.Uuid(), nullable=False),
        sa.Column("to_session_id", sa.Uuid(), nullable=False),
        sa.Column("from_device_id", sa.Text(), nullable=False),
        sa.Column("to_device_id", sa.Text(), nullable=False),
        sa.Column("handed_over_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_handovers_trainee_id"), "handovers", ["trainee_id"], unique=False)
    op.create_table(
        "heartbeats",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("position", sa.Double(), nullable=False),
        sa.Column("rate", sa.Double(), nullable=False),
        sa.Column("focused", sa.Boolean(), nullable=False),
        sa.Column("client_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verdict", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("heartbeats_session", "heartbeats", ["session_id", "sequence"], unique=False)
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("enrollment_id", sa.Uuid(), nullable=False),
        sa.Column("trainee_id", sa.Uuid(), nullable=False),
        sa.Column("lesson_id", sa.Uuid(), nullable=True),
        sa.Column("topic_id", sa.Uuid(), nullable=True),
        sa.Column("course_id", sa.Uuid(), nullable=True),
        sa.Column("credited_seconds", sa.Double(), nullable=False),
        sa.Column("interval_seconds", sa.Double(), nullable=False),
        sa.Column("interval_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("interval_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("position_from", sa.Double(), nullable=True),
        sa.Column("position_to", sa.Double(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("rulebook_version", sa.Text(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("device_id", sa.Text(), nullable=True),
        sa.Column("first_seq", sa.BigInteger(), nullable=True),
        sa.Column("last_seq", sa.BigInteger(), nullable=True),
        sa.Column("opening_face_check_id", sa.Text(), nullable=True),
        sa.Column("closing_face_check_id", sa.Text(), nullable=True),
        sa.Column("actor_id", sa.Text(), nullable=True),
        sa.Column("actor_role", sa.Text(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("before_seconds", sa.Double(), nullable=True),
        sa.Column("after_seconds", sa.Double(), nullable=True),
        sa.Column("corrects_entry_id", sa.Uuid(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sequence"),
    )
    op.create_index(
        "ledger_corrects",
        "ledger_entries",
        ["corrects_entry_id"],
        unique=True,
        postgresql_where="corrects_entry_id IS NOT NULL",
    )
    op.create_index("ledger_enrollment", "ledger_entries", ["enrollment_id", "sequence"], unique=False)
    op.create_table(
        "lesson_progress",
        sa.Column("enrollment_id", sa.Uuid(), nullable=False),
        sa.Column("lesson_id", sa.Uuid(), nullable=False),
        sa.Column("credited_seconds", sa.Double(), nullable=False),
        sa.Column("furthest_position", sa.Double(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("enrollment_id", "lesson_id"),
    )
    op.create_table(
        "pending_segments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("run", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("opening_face_check_id", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_pending_segments_session_id"), "pending_segments", ["session_id"], unique=False)
    op.create_table(
        "study_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("enrollment_id", sa.Uuid(), nullable=False),
        sa.Column("trainee_id", sa.Uuid(), nullable=False),
        sa.Column("lesson_id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("topic_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Text(), nullable=False),
        sa.Column("rulebook_version", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.Column("lesson_duration", sa.Integer(), nullable=False),
        sa.Column("furthest_position", sa.Double(), nullable=False),
        sa.Column("credited_furthest", sa.Double(), nullable=False),
        sa.Column("client_offset_seconds", sa.Double(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("base_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("base_position", sa.Double(), nullable=True),
        sa.Column("base_seq", sa.BigInteger(), nullable=True),
        sa.Column("run", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("pending_seconds", sa.Double(), nullable=False),
        sa.Column("next_check_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("check_seed", sa.Text(), nullable=False),
        sa.Column("checks_scheduled", sa.Integer(), nullable=False),
        sa.Column("random_checks_passed", sa.Integer(), nullable=False),
        sa.Column("opening_face_check_id", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        # Every heartbeat rewrites its session's row: leave room on each page for the new version.
        postgresql_with={"fillfactor": 70},
    )
    op.create_index(op.f("ix_study_sessions_enrollment_id"), "study_sessions", ["enrollment_id"], unique=False)
    op.create_index(op.f("ix_study_sessions_trainee_id"), "study_sessions", ["trainee_id"], unique=False)
    # Live sessions for the sweeper. Nothing a heartbeat changes is indexed (status changes only on
    # pauses and ends), so heartbeat updates stay heap-only and touch no index.
    op.create_index("study_sessions_live", "study_sessions", ["id"], unique=False, postgresql_where="status <> 'ended'")
    op.create_table(
        "topic_progress",
        sa.Column("enrollment_id", sa.Uuid(), nullable=False),
        sa.Column("topic_id", sa.Uuid(), nullable=False),
        sa.Column("credited_seconds", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("enrollment_id", "topic_id"),
    )
    op.create_table(
        "withdrawn_courses",
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("course_id"),
    )
    # The ledger is append-only: corrections and invalidations are new entries, never edits.
    op.execute(
        "CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'ledger_entries is append-only'; END $$"
    )
    op.execute(
        "CREATE TRIGGER ledger_no_update BEFORE UPDATE OR DELETE ON ledger_entries "
        "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"
    )
    op.execute(
        "CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger_entries "
        "FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS ledger_no_truncate ON ledger_entries")
    op.execute("DROP TRIGGER IF EXISTS ledger_no_update ON ledger_entries")
    op.execute("DROP FUNCTION IF EXISTS ledger_append_only()")
    op.drop_table("withdrawn_courses")
    op.drop_table("topic_progress")
    op.drop_index("study_sessions_live", table_name="study_sessions", postgresql_where="status <> 'ended'")
    op.drop_index(op.f("ix_study_sessions_trainee_id"), table_name="study_sessions")
    op.drop_index(op.f("ix_study_sessions_enrollment_id"), table_name="study_sessions")
    op.drop_table("study_sessions")
    op.drop_index(op.f("ix_pending_segments_session_id"), table_name="pending_segments")
    op.drop_table("pending_segments")
    op.drop_table("lesson_progress")
    op.drop_index("ledger_enrollment", table_name="ledger_entries")
    op.drop_index("ledger_corrects", table_name="ledger_entries", postgresql_where="corrects_entry_id IS NOT NULL")
    op.drop_table("ledger_entries")
    op.drop_index("heartbeats_session", table_name="heartbeats")
    op.drop_table("heartbeats")
    op.drop_index(op.f("ix_handovers_trainee_id"), table_name="handovers")
    op.drop_table("handovers")
    op.drop_index(op.f("ix_face_checks_enrollment_id"), table_name="face_checks")
    op.drop_table("face_checks")
    op.drop_index(op.f("ix_enrollments_trainee_id"), table_name="enrollments")
    op.drop_index(op.f("ix_enrollments_institution_id"), table_name="enrollments")
    op.drop_index(op.f("ix_enrollments_class_id"), table_name="enrollments")
    op.drop_table("enrollments")
    op.drop_table("daily_credits")
    op.drop_table("course_finishes")
    op.drop_table("classes")
    op.drop_table("class_topics")
    op.drop_table("class_lessons")
    op.drop_index(op.f("ix_anomalies_institution_id"), table_name="anomalies")
    op.drop_index(op.f("ix_anomalies_enrollment_id"), table_name="anomalies")
    op.drop_index("anomalies_raised", table_name="anomalies")
    op.drop_table("anomalies")
    op.drop_table("active_sessions")
    drop_event_tables()
