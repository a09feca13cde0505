"""Courses' tables. Institutions and the learning figures are courses' own copies, built from
identity's and learning's events; no other service's tables are read."""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Double,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)

from training_events import event_tables

metadata = MetaData()
event_tables(metadata)

TZ = DateTime(timezone=True)

institutions = Table(
    "institutions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("region_code", Text, nullable=False),
    Column("qualification_types", ARRAY(Text), nullable=False),
    Column("operation_types", ARRAY(Text), nullable=False),
    Column("status", Text, nullable=False),
    Column("status_changed_at", TZ, nullable=False),
)

syllabi = Table(
    "syllabi",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("title", Text, nullable=False),
    Column("qualification_type", Text, nullable=False),
    Column("operation_type", Text, nullable=False),
    Column("training_kind", Text, nullable=False),
    Column("total_hours", Integer, nullable=False),
    Column("rulebook_version", Text, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", TZ, nullable=False),
    Index("syllabi_created", "created_at", "id"),
)

syllabus_topics = Table(
    "syllabus_topics",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("syllabus_id", Uuid, ForeignKey("syllabi.id"), nullable=False, index=True),
    Column("code", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("required_hours", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    UniqueConstraint("syllabus_id", "code"),
)

courses = Table(
    "courses",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("institution_id", Uuid, nullable=False, index=True),
    Column("region_code", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("syllabus_id", Uuid, ForeignKey("syllabi.id"), nullable=False),
    Column("topic_id", Uuid, ForeignKey("syllabus_topics.id"), nullable=False),
    Column("qualification_type", Text, nullable=False),
    Column("credited_hours", Integer, nullable=False),
    Column("teacher_id", Uuid, nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("updated_at", TZ, nullable=False),
    Index("courses_created", "created_at", "id"),
)

# The lessons of a course's current version; a published course's content never changes.
lessons = Table(
    "lessons",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("course_id", Uuid, ForeignKey("courses.id"), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("duration_seconds", Integer, nullable=False),
    Column("media_ref", Text, nullable=False),
)

course_decisions = Table(
    "course_decisions",
    metadata,
    Column("id", Uuid, primary_key=True),
    # Decisions in the order they were taken (several may share a timestamp).
    Column("seq", BigInteger, Identity(always=True), nullable=False, unique=True),
    Column("course_id", Uuid, ForeignKey("courses.id"), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("actor_id", Text, nullable=False),
    Column("actor_role", Text, nullable=False),
    Column("comment", Text, nullable=False),
    Column("decided_at", TZ, nullable=False),
)

training_classes = Table(
    "training_classes",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("institution_id", Uuid, nullable=False, index=True),
    Column("region_code", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("syllabus_id", Uuid, ForeignKey("syllabi.id"), nullable=False),
    Column("qualification_type", Text, nullable=False),
    Column("operation_type", Text, nullable=False),
    Column("training_kind", Text, nullable=False),
    Column("rulebook_version", Text, nullable=False),
    Column("opened_by", Text, nullable=False),
    Column("opened_at", TZ, nullable=False),
    Index("training_classes_opened", "opened_at", "id"),
)

class_courses = Table(
    "class_courses",
    metadata,
    Column("class_id", Uuid, ForeignKey("training_classes.id"), nullable=False),
    Column("course_id", Uuid, ForeignKey("courses.id"), nullable=False, index=True),
    Column("course_version", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    PrimaryKeyConstraint("class_id", "course_id"),
)

enrollments = Table(
    "enrollments",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("class_id", Uuid, ForeignKey("training_classes.id"), nullable=False, index=True),
    Column("trainee_id", Uuid, nullable=False, index=True),
    Column("institution_id", Uuid, nullable=False),
    Column("region_code", Text, nullable=False),
    Column("employer_credit_code", Text, nullable=False),
    Column("enrolled_by", Text, nullable=False),
    Column("enrolled_at", TZ, nullable=False),
    UniqueConstraint("class_id", "trainee_id"),
    Index("enrollments_enrolled", "enrolled_at", "id"),
)

ratings = Table(
    "ratings",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("enrollment_id", Uuid, ForeignKey("enrollments.id"), nullable=False),
    Column("course_id", Uuid, ForeignKey("courses.id"), nullable=False, index=True),
    Column("teacher_id", Uuid, nullable=False, index=True),
    Column("course_rating", Integer, nullable=False),
    Column("teacher_rating", Integer, nullable=False),
    Column("comment", Text, nullable=False),
    Column("rated_at", TZ, nullable=False),
    UniqueConstraint("enrollment_id", "course_id"),
)

# From learning's events: which enrollments finished which courses, credited hours per course, anomalies.
course_finishes = Table(
    "course_finishes",
    metadata,
    Column("enrollment_id", Uuid, nullable=False),
    Column("course_id", Uuid, nullable=False, index=True),
    Column("finished_at", TZ, nullable=False),
    PrimaryKeyConstraint("enrollment_id", "course_id"),
)

credited_hours = Table(
    "credited_hours",
    metadata,
    Column("entry_id", Uuid, primary_key=True),
    Column("enrollment_id", Uuid, nullable=False, index=True),
    Column("course_id", Uuid, nullable=False, index=True),
    Column("hours", Double, nullable=False),
    Column("invalidated", Boolean, nullable=False),
)

learning_anomalies = Table(
    "learning_anomalies",
    metadata,
    Column("anomaly_id", Uuid, primary_key=True),
    Column("enrollment_id", Uuid, nullable=False, index=True),
    Column("course_id", Uuid),
    Column("raised_at", TZ, nullable=False),
)
