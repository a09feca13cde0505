"""Identity's tables. ID and phone numbers are stored encrypted (AES-GCM) beside a keyed hash for
look-ups; passwords as Argon2id hashes; refresh tokens as SHA-256 hashes."""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    Uuid,
    text,
)

from training_events import event_tables

metadata = MetaData()
event_tables(metadata)

institutions = Table(
    "institutions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", Text, nullable=False),
    Column("credit_code", Text, nullable=False, unique=True),
    Column("region_code", Text, nullable=False),
    Column("qualification_types", ARRAY(Text), nullable=False),
    Column("operation_types", ARRAY(Text), nullable=False),
    Column("status", Text, nullable=False),
    Column("status_reason", Text, nullable=False, server_default=""),
    Column("status_changed_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", Uuid, nullable=False),
    Index("institutions_region", "region_code"),
)

institution_status_changes = Table(
    "institution_status_changes",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("institution_id", Uuid, ForeignKey("institutions.id"), nullable=False, index=True),
    Column("from_status", Text, nullable=False),
    Column("to_status", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("actor_id", Text, nullable=False),
    Column("actor_role", Text, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("role", Text, nullable=False),
    Column("display_name", Text, nullable=False),
    Column("username", Text, unique=True),
    Column("national_id_enc", LargeBinary),
    Column("national_id_hash", LargeBinary, unique=True),
    Column("phone_enc", LargeBinary),
    Column("phone_hash", LargeBinary, unique=True),
    Column("employer_name", Text),
    Column("employer_credit_code", Text),
    Column("institution_id", Uuid, ForeignKey("institutions.id")),
    Column("region_code", Text),
    Column("password_hash", Text, nullable=False),
    Column("password_changed_at", DateTime(timezone=True), nullable=False),
    Column("recent_failures", ARRAY(DateTime(timezone=True)), nullable=False, server_default=text("'{}'")),
    Column("locked_until", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", Text),
    # A trainee's records are kept until then (the latest of its enrollments' and training checks'
    # retention); the retention job erases the personal data after it (docs/records.md).
    Column("retention_until", DateTime(timezone=True), index=True),
    # When the retention job erased the name and numbers (the row stays, as a tombstone).
    Column("erased_at", DateTime(timezone=True)),
    Index("users_created", "created_at", "id"),
    Index("users_institution", "institution_id"),
    Index("users_employer", "employer_credit_code"),
    Index("users_region", "region_code"),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("family_id", Uuid, nullable=False, index=True),
    Column("user_id", Uuid, ForeignKey("users.id"), nullable=False, index=True),
    Column("token_hash", LargeBinary, nullable=False, unique=True),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revoke_reason", Text),
)

# The face-data tables live with their feature; importing them here puts them on this metadata.
from training_identity.face import tables as _face_tables  # noqa: E402, F401
from training_identity.retention import tables as _retention_tables  # noqa: E402, F401

# Which trainees are enrolled with which institution (learnt from courses' enrollment events), so
# institutions and regulators can see the trainees of their classes.
trainee_enrollments = Table(
    "trainee_enrollments",
    metadata,
    Column("enrollment_id", Uuid, primary_key=True),
    Column("user_id", Uuid, nullable=False, index=True),
    Column("institution_id", Uuid, nullable=False, index=True),
    Column("region_code", Text, nullable=False),
    Column("enrolled_at", DateTime(timezone=True), nullable=False),
    # The class's qualification type and its rulebook's retention years (NULL: learnt before courses
    # published them; read as IDENTITY_RETENTION_DEFAULT_YEARS).
    Column("qualification_type", Text),
    Column("retention_years", Integer),
)
