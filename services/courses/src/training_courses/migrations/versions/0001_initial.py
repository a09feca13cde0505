"""Institutions (from identity's events), syllabi, courses, lessons and review decisions, classes, enrollments, ratings, learning figures (from learning's events), and the event tables.

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


def upgrade() -> None:
    create_event_tables()
    op.create_table(
        "course_finishes",
        sa.Column("enrollment_id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("enrollment_id", "course_id"),
    )
    op.create_index(op.f("ix_course_finishes_course_id"), "course_finishes", ["course_id"], unique=False)
    op.create_table(
        "credited_hours",
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("enrollment_id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("hours", sa.Double(), nullable=False),
        sa.Column("invalidated", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("entry_id"),
    )
    op.create_index(op.f("ix_credited_hours_course_id"), "credited_hours", ["course_id"], unique=False)
    op.create_index(op.f("ix_credited_hours_enrollment_id"), "credited_hours", ["enrollment_id"], unique=False)
    op.create_table(
        "institutions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.Text(), nullable=False),
        sa.Column("qualification_types", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("operation_types", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "learning_anomalies",
        sa.Column("anomaly_id", sa.Uuid(), nullable=False),
        sa.Column("enrollment_id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=True),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("anomaly_id"),
    )
    op.create_index(op.f("ix_learning_anomalies_enrollment_id"), "learning_anomalies", ["enrollment_id"], unique=False)
    op.create_table(
        "syllabi",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("qualification_type", sa.Text(), nullable=False),
        sa.Column("operation_type", sa.Text(), nullable=False),
        sa.Column("training_kind", sa.Text(), nullable=False),
        sa.Column("total_hours", sa.Integer(), nullable=False),
        sa.Column("rulebook_version", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("syllabi_created", "syllabi", ["created_at", "id"], unique=False)
    op.create_table(
        "syllabus_topics",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("syllabus_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("required_hours", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["syllabus_id"],
            ["syllabi.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("syllabus_id", "code"),
    )
    op.create_index(op.f("ix_syllabus_topics_syllabus_id"), "syllabus_topics", ["syllabus_id"], unique=False)
    op.create_table(
        "training_classes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("syllabus_id", sa.Uuid(), nullable=False),
        sa.Column("qualification_type", sa.Text(), nullable=False),
        sa.Column("operation_type", sa.Text(), nullable=False),
        sa.Column("training_kind", sa.Text(), nullable=False),
        sa.Column("rulebook_version", sa.Text(), nullable=False),
        sa.Column("opened_by", sa.Text(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["syllabus_id"],
            ["syllabi.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_training_classes_institution_id"), "training_classes", ["institution_id"], unique=False)
    op.create_index("training_classes_opened", "training_classes", ["opened_at", "id"], unique=False)
    op.create_table(
        "courses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("syllabus_id", sa.Uuid(), nullable=False),
        sa.Column("topic_id", sa.Uuid(), nullable=False),
        sa.Column("qualification_type", sa.Text(), nullable=False),
        sa.Column("credited_hours", sa.Integer(), nullable=False),
        sa.Column("teacher_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["syllabus_id"],
            ["syllabi.id"],
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["syllabus_topics.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("courses_created", "courses", ["created_at", "id"], unique=False)
    op.create_index(op.f("ix_courses_institution_id"), "courses", ["institution_id"], unique=False)
    op.create_index(op.f("ix_courses_teacher_id"), "courses", ["teacher_id"], unique=False)
    op.create_table(
        "enrollments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("class_id", sa.Uuid(), nullable=False),
        sa.Column("trainee_id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.Text(), nullable=False),
        sa.Column("employer_credit_code", sa.Text(), nullable=False),
        sa.Column("enrolled_by", sa.Text(), nullable=False),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["class_id"],
            ["training_classes.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("class_id", "trainee_id"),
    )
    op.create_index("enrollments_enrolled", "enrollments", ["enrolled_at", "id"], unique=False)
    op.create_index(op.f("ix_enrollments_class_id"), "enrollments", ["class_id"], unique=False)
    op.create_index(op.f("ix_enrollments_trainee_id"), "enrollments", ["trainee_id"], unique=False)
    op.create_table(
        "class_courses",
        sa.Column("class_id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("course_version", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["class_id"],
            ["training_classes.id"],
        ),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
        ),
        sa.PrimaryKeyConstraint("class_id", "course_id"),
    )
    op.create_index(op.f("ix_class_courses_course_id"), "class_courses", ["course_id"], unique=False)
    op.create_table(
        "course_decisions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False, unique=True),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.Text(), nullable=False),
        sa.Column("actor_role", sa.Text(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_course_decisions_course_id"), "course_decisions", ["course_id"], unique=False)
    op.create_table(
        "lessons",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=False),
        sa.Column("media_ref", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_lessons_course_id"), "lessons", ["course_id"], unique=False)
    op.create_table(
        "ratings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("enrollment_id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("teacher_id", sa.Uuid(), nullable=False),
        sa.Column("course_rating", sa.Integer(), nullable=False),
        sa.Column("teacher_rating", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("enrollment_id", "course_id"),
    )
    op.create_index(op.f("ix_ratings_course_id"), "ratings", ["course_id"], unique=False)
    op.create_index(op.f("ix_ratings_teacher_id"), "ratings", ["teacher_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_ratings_teacher_id"), table_name="ratings")
    op.drop_index(op.f("ix_ratings_course_id"), table_name="ratings")
    op.drop_table("ratings")
    op.drop_index(op.f("ix_lessons_course_id"), table_name="lessons")
    op.drop_table("lessons")
    op.drop_index(op.f("ix_course_decisions_course_id"), table_name="course_decisions")
    op.drop_table("course_decisions")
    op.drop_index(op.f("ix_class_courses_course_id"), table_name="class_courses")
    op.drop_table("class_courses")
    op.drop_index(op.f("ix_enrollments_trainee_id"), table_name="enrollments")
    op.drop_index(op.f("ix_enrollments_class_id"), table_name="enrollments")
    op.drop_index("enrollments_enrolled", table_name="enrollments")
    op.drop_table("enrollments")
    op.drop_index(op.f("ix_courses_teacher_id"), table_name="courses")
    op.drop_index(op.f("ix_courses_institution_id"), table_name="courses")
    op.drop_index("courses_created", table_name="courses")
    op.drop_table("courses")
    op.drop_index("training_classes_opened", table_name="training_classes")
    op.drop_index(op.f("ix_training_classes_institution_id"), table_name="training_classes")
    op.drop_table("training_classes")
    op.drop_index(op.f("ix_syllabus_topics_syllabus_id"), table_name="syllabus_topics")
    op.drop_table("syllabus_topics")
    op.drop_index("syllabi_created", table_name="syllabi")
    op.drop_table("syllabi")
    op.drop_index(op.f("ix_learning_anomalies_enrollment_id"), table_name="learning_anomalies")
    op.drop_table("learning_anomalies")
    op.drop_table("institutions")
    op.drop_index(op.f("ix_credited_hours_enrollment_id"), table_name="credited_hours")
    op.drop_index(op.f("ix_credited_hours_course_id"), table_name="credited_hours")
    op.drop_table("credited_hours")
    op.drop_index(op.f("ix_course_finishes_course_id"), table_name="course_finishes")
    op.drop_table("course_finishes")
    drop_event_tables()
