"""Exams' tables. Classes and enrollments are exams' own copies, built from courses' and learning's
events; no other service's tables are read.

Points are stored in hundredths (integers). Bank versions and their questions are immutable once
imported (only a version's review fields change); exams are immutable once created.
"""

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
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from training_events import event_tables

metadata = MetaData()
event_tables(metadata)

TZ = DateTime(timezone=True)

banks = Table(
    "banks",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("code", Text, nullable=False),
    # "platform" or the owning institution's id: a bank code is unique per owner.
    Column("owner", Text, nullable=False),
    Column("institution_id", Uuid),
    Column("created_by", Text, nullable=False),
    Column("created_at", TZ, nullable=False),
    UniqueConstraint("owner", "code", name="banks_owner_code"),
    Index("banks_created", "created_at", "id"),
)

bank_versions = Table(
    "bank_versions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("bank_id", Uuid, nullable=False),
    Column("version", Integer, nullable=False),
    # pending_review | approved | rejected
    Column("status", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("qualification_types", ARRAY(Text), nullable=False),
    # [{"code": ..., "title": ...}] in file order.
    Column("topics", JSONB, nullable=False),
    Column("question_count", Integer, nullable=False),
    # [{"type", "topic", "difficulty", "count"}]
    Column("counts", JSONB, nullable=False),
    Column("content_sha256", Text, nullable=False),
    Column("imported_by", Text, nullable=False),
    Column("imported_at", TZ, nullable=False),
    Column("reviewed_by", Text),
    Column("reviewed_at", TZ),
    Column("review_comment", Text, nullable=False, server_default=""),
    UniqueConstraint("bank_id", "version", name="bank_versions_number"),
)

questions = Table(
    "questions",
    metadata,
    Column("bank_version_id", Uuid, nullable=False),
    Column("position", Integer, nullable=False),
    Column("key", Text, nullable=False),
    Column("topic", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("difficulty", Text, nullable=False),
    Column("stem", Text, nullable=False),
    Column("options", ARRAY(Text), nullable=False),
    # The answer key: indices into options.
    Column("answer", ARRAY(SmallInteger), nullable=False),
    PrimaryKeyConstraint("bank_version_id", "position"),
)

classes = Table(
    "classes",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("institution_id", Uuid, nullable=False),
    Column("region_code", Text, nullable=False),
    Column("qualification_type", Text, nullable=False),
    Column("operation_type", Text, nullable=False),
    Column("training_kind", Text, nullable=False),
    Column("rulebook_version", Text, nullable=False),
    # {topic code: syllabus topic id}
    Column("topics", JSONB, nullable=False),
    Column("opened_at", TZ, nullable=False),
)

enrollments = Table(
    "enrollments",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("class_id", Uuid, nullable=False),
    Column("trainee_id", Uuid, nullable=False),
    Column("institution_id", Uuid, nullable=False),
    Column("region_code", Text, nullable=False),
    Column("employer_credit_code", Text, nullable=False, server_default=""),
    Column("enrolled_at", TZ),
    # From learning's class.completed: a final exam may start from then on.
    Column("completed_at", TZ),
    # Retention (docs/records.md): the class's rulebook years (from courses), and the enrollment's
    # attempts are kept until the latest one's last change plus those years.
    Column("retention_years", Integer),
    Column("retention_until", TZ),
    Index("enrollments_trainee_class", "trainee_id", "class_id"),
)

exams = Table(
    "exams",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("class_id", Uuid, nullable=False),
    Column("institution_id", Uuid, nullable=False),
    Column("region_code", Text, nullable=False),
    Column("qualification_type", Text, nullable=False),
    Column("operation_type", Text, nullable=False),
    Column("training_kind", Text, nullable=False),
    # {topic code: syllabus topic id} of the class, for per-topic scores.
    Column("class_topics", JSONB, nullable=False),
    # practice | mock | final
    Column("kind", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("bank_id", Uuid, nullable=False),
    Column("bank_version_id", Uuid, nullable=False),
    Column("bank_version", Integer, nullable=False),
    Column("time_limit_seconds", Integer, nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("face_check_at_start", Boolean, nullable=False),
    Column("page_leave_limit", Integer, nullable=False),
    # [{"type", "topic", "difficulty", "count", "points"}]
    Column("blueprint", JSONB, nullable=False),
    Column("question_count", Integer, nullable=False),
    Column("max_points", Integer, nullable=False),
    Column("pass_mark", Integer, nullable=False),
    Column("partial_credit", Double, nullable=False),
    Column("rulebook_version", Text, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", TZ, nullable=False),
    Index("exams_class", "class_id"),
    Index("exams_created", "created_at", "id"),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("exam_id", Uuid, nullable=False),
    Column("class_id", Uuid, nullable=False),
    Column("enrollment_id", Uuid, nullable=False),
    Column("trainee_id", Uuid, nullable=False),
    Column("institution_id", Uuid, nullable=False),
    Column("region_code", Text, nullable=False),
    Column("employer_credit_code", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("number", Integer, nullable=False),
    # in_progress | graded
    Column("status", Text, nullable=False),
    Column("seed", BigInteger, nullable=False),
    # [[question key, [displayed option -> bank option], points]] as assembled from the seed.
    Column("paper", JSONB, nullable=False),
    Column("bank_version_id", Uuid, nullable=False),
    Column("started_at", TZ, nullable=False),
    Column("deadline", TZ, nullable=False),
    Column("start_face_check_id", Text, nullable=False),
    Column("page_leaves", Integer, nullable=False),
    Column("submitted_at", TZ),
    # trainee | deadline | page_leaves
    Column("cause", Text),
    Column("graded_at", TZ),
    Column("score", Integer),
    Column("max_points", Integer, nullable=False),
    Column("pass_mark", Integer, nullable=False),
    Column("passed", Boolean),
    # [{"topic", "points", "max_points"}]
    Column("topics", JSONB),
    Column("answered", Integer),
    UniqueConstraint("exam_id", "trainee_id", "number", name="attempts_number"),
    # One attempt in progress per trainee and exam: a second start resumes it.
    Index(
        "attempts_one_open",
        "exam_id",
        "trainee_id",
        unique=True,
        postgresql_where=text("status = 'in_progress'"),
    ),
    # The deadline sweeper's queue.
    Index("attempts_deadline", "deadline", postgresql_where=text("status = 'in_progress'")),
    Index("attempts_trainee", "trainee_id", "started_at"),
    Index("attempts_exam", "exam_id", "started_at", "id"),
    Index("attempts_started", "started_at", "id"),
)

attempt_answers = Table(
    "attempt_answers",
    metadata,
    Column("attempt_id", Uuid, nullable=False),
    Column("position", SmallInteger, nullable=False),
    # Displayed option indices (as the trainee saw them).
    Column("selected", ARRAY(SmallInteger), nullable=False),
    Column("revision", BigInteger, nullable=False),
    Column("saved_at", TZ, nullable=False),
    PrimaryKeyConstraint("attempt_id", "position"),
)

page_leaves = Table(
    "page_leaves",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("attempt_id", Uuid, nullable=False),
    Column("left_at", TZ, nullable=False),
    Column("client_time", TZ),
    Index("page_leaves_attempt", "attempt_id"),
)

face_checks = Table(
    "face_checks",
    metadata,
    Column("face_check_id", Text, primary_key=True),
    Column("exam_id", Uuid, nullable=False),
    Column("trainee_id", Uuid, nullable=False),
    Column("attempt_id", Uuid),
    Column("outcome", Text, nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("checked_at", TZ, nullable=False),
    Index("face_checks_trainee", "trainee_id", "checked_at"),
)
