"""Learning's tables. What it knows of classes and enrollments is its own copy, built from courses'
events. The ledger is append-only: a trigger refuses UPDATE and DELETE on it."""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Double,
    Identity,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB

from training_events import event_tables

metadata = MetaData()
event_tables(metadata)

TZ = DateTime(timezone=True)

classes = Table(
    "classes",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("institution_id", Uuid, nullable=False),
    Column("region_code", Text, nullable=False),
    Column("syllabus_id", Uuid, nullable=False),
    Column("qualification_type", Text, nullable=False),
    Column("operation_type", Text, nullable=False),
    Column("training_kind", Text, nullable=False),
    Column("rulebook_version", Text, nullable=False),
    Column("opened_at", TZ, nullable=False),
)

class_topics = Table(
    "class_topics",
    metadata,
    Column("class_id", Uuid, nullable=False),
    Column("topic_id", Uuid, nullable=False),
    Column("code", Text, nullable=False),
    Column("required_hours", Integer, nullable=False),
    PrimaryKeyConstraint("class_id", "topic_id"),
)

class_lessons = Table(
    "class_lessons",
    metadata,
    Column("class_id", Uuid, nullable=False),
    Column("lesson_id", Uuid, nullable=False),
    Column("course_id", Uuid, nullable=False),
    Column("topic_id", Uuid, nullable=False),
    Column("duration_seconds", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    PrimaryKeyConstraint("class_id", "lesson_id"),
)

withdrawn_courses = Table(
    "withdrawn_courses",
    metadata,
    Column("course_id", Uuid, primary_key=True),
    Column("reason", Text, nullable=False),
    Column("withdrawn_at", TZ, nullable=False),
)

enrollments = Table(
    "enrollments",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("class_id", Uuid, nullable=False, index=True),
    Column("trainee_id", Uuid, nullable=False, index=True),
    Column("institution_id", Uuid, nullable=False, index=True),
    Column("region_code", Text, nullable=False),
    Column("employer_credit_code", Text, nullable=False),
    Column("frozen", Boolean, nullable=False),
    Column("completed_at", TZ),
    Column("enrolled_at", TZ, nullable=False),
    # Retention (docs/records.md): the class's rulebook years, and the enrollment's ledger is kept
    # until its latest entry plus those years (training_runtime.retention keeps it current).
    Column("retention_years", Integer),
    Column("retention_until", TZ),
)

lesson_progress = Table(
    "lesson_progress",
    metadata,
    Column("enrollment_id", Uuid, nullable=False),
    Column("lesson_id", Uuid, nullable=False),
    Column("credited_seconds", Double, nullable=False),
    Column("furthest_position", Double, nullable=False),
    Column("finished_at", TZ),
    PrimaryKeyConstraint("enrollment_id", "lesson_id"),
)

topic_progress = Table(
    "topic_progress",
    metadata,
    Column("enrollment_id", Uuid, nullable=False),
    Column("topic_id", Uuid, nullable=False),
    Column("credited_seconds", Double, nullable=False),
    PrimaryKeyConstraint("enrollment_id", "topic_id"),
)

course_finishes = Table(
    "course_finishes",
    metadata,
    Column("enrollment_id", Uuid, nullable=False),
    Column("course_id", Uuid, nullable=False),
    Column("finished_at", TZ, nullable=False),
    PrimaryKeyConstraint("enrollment_id", "course_id"),
)

daily_credits = Table(
    "daily_credits",
    metadata,
    Column("trainee_id", Uuid, nullable=False),
    # The calendar day in China Standard Time.
    Column("day", Text, nullable=False),
    Column("credited_seconds", Double, nullable=False),
    PrimaryKeyConstraint("trainee_id", "day"),
)

# One row per trainee with a live session: the lock that keeps one device accruing at a time.
active_sessions = Table(
    "active_sessions",
    metadata,
    Column("trainee_id", Uuid, primary_key=True),
    Column("session_id", Uuid, nullable=False),
)

study_sessions = Table(
    "study_sessions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("enrollment_id", Uuid, nullable=False, index=True),
    Column("trainee_id", Uuid, nullable=False, index=True),
    Column("lesson_id", Uuid, nullable=False),
    Column("course_id", Uuid, nullable=False),
    Column("topic_id", Uuid, nullable=False),
    Column("device_id", Text, nullable=False),
    Column("rulebook_version", Text, nullable=False),
    Column("started_at", TZ, nullable=False),
    Column("ended_at", TZ),
    Column("last_activity_at", TZ, nullable=False),
    # The state machine (training_learning.domain.session.SessionState).
    Column("status", Text, nullable=False),
    Column("status_reason", Text, nullable=False),
    Column("lesson_duration", Integer, nullable=False),
    Column("furthest_position", Double, nullable=False),
    Column("credited_furthest", Double, nullable=False),
    Column("client_offset_seconds", Double, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("base_at", TZ),
    Column("base_position", Double),
    Column("base_seq", BigInteger),
    Column("run", JSONB),
    Column("pending_seconds", Double, nullable=False),
    Column("next_check_due_at", TZ),
    Column("check_seed", Text, nullable=False),
    Column("checks_scheduled", Integer, nullable=False),
    Column("random_checks_passed", Integer, nullable=False),
    # The passed face check that opened the current bracket.
    Column("opening_face_check_id", Text, nullable=False),
    # Nothing a heartbeat changes is indexed, so its update stays heap-only (see the migration).
    Index("study_sessions_live", "id", postgresql_where="status <> 'ended'"),
    postgresql_with={"fillfactor": 70},
)

# Verified runs waiting for their bracket's closing face check.
pending_segments = Table(
    "pending_segments",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("session_id", Uuid, nullable=False, index=True),
    Column("run", JSONB, nullable=False),
    Column("opening_face_check_id", Text, nullable=False),
)

heartbeats = Table(
    "heartbeats",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("session_id", Uuid, nullable=False),
    Column("sequence", BigInteger, nullable=False),
    Column("received_at", TZ, nullable=False),
    Column("position", Double, nullable=False),
    Column("rate", Double, nullable=False),
    Column("focused", Boolean, nullable=False),
    Column("client_time", TZ, nullable=False),
    Column("verdict", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Index("heartbeats_session", "session_id", "sequence"),
)

face_checks = Table(
    "face_checks",
    metadata,
    # Identity's face_check_id: the record with the snapshot lives there.
    Column("id", Text, primary_key=True),
    Column("session_id", Uuid),
    Column("enrollment_id", Uuid, nullable=False, index=True),
    Column("trainee_id", Uuid, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("distance", Double, nullable=False),
    Column("checked_at", TZ, nullable=False),
)

handovers = Table(
    "handovers",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("trainee_id", Uuid, nullable=False, index=True),
    Column("from_session_id", Uuid, nullable=False),
    Column("to_session_id", Uuid, nullable=False),
    Column("from_device_id", Text, nullable=False),
    Column("to_device_id", Text, nullable=False),
    Column("handed_over_at", TZ, nullable=False),
)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("sequence", BigInteger, Identity(always=True), nullable=False, unique=True),
    Column("kind", Text, nullable=False),
    Column("enrollment_id", Uuid, nullable=False),
    Column("trainee_id", Uuid, nullable=False),
    Column("lesson_id", Uuid),
    Column("topic_id", Uuid),
    Column("course_id", Uuid),
    Column("credited_seconds", Double, nullable=False),
    Column("interval_seconds", Double, nullable=False),
    Column("interval_start", TZ),
    Column("interval_end", TZ),
    Column("position_from", Double),
    Column("position_to", Double),
    Column("reason", Text, nullable=False),
    Column("rulebook_version", Text, nullable=False),
    Column("session_id", Uuid),
    Column("device_id", Text),
    Column("first_seq", BigInteger),
    Column("last_seq", BigInteger),
    Column("opening_face_check_id", Text),
    Column("closing_face_check_id", Text),
    Column("actor_id", Text),
    Column("actor_role", Text),
    Column("comment", Text),
    Column("before_seconds", Double),
    Column("after_seconds", Double),
    Column("corrects_entry_id", Uuid),
    Column("recorded_at", TZ, nullable=False),
    Index("ledger_enrollment", "enrollment_id", "sequence"),
    Index("ledger_corrects", "corrects_entry_id", unique=True, postgresql_where="corrects_entry_id IS NOT NULL"),
)

anomalies = Table(
    "anomalies",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("enrollment_id", Uuid, nullable=False, index=True),
    Column("trainee_id", Uuid, nullable=False),
    Column("class_id", Uuid, nullable=False),
    Column("institution_id", Uuid, nullable=False, index=True),
    Column("region_code", Text, nullable=False),
    Column("course_id", Uuid),
    Column("lesson_id", Uuid),
    Column("face_check_ids", ARRAY(Text), nullable=False),
    Column("raised_at", TZ, nullable=False),
    Column("reviewed_by", Text),
    Column("reviewed_role", Text),
    Column("reviewed_at", TZ),
    Column("review_comment", Text),
    Index("anomalies_raised", "raised_at", "id"),
)
