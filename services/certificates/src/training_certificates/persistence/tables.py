"""Certificates' tables: the facts gathered per enrollment from other contexts' events, what it
keeps of classes and institutions, serial-number counters, and the certificates themselves."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Double,
    Index,
    Integer,
    LargeBinary,
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

# Topics of each class (from courses' class.opened): codes and required hours for the certificate.
classes = Table(
    "classes",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("institution_id", Uuid, nullable=False),
    Column("topics", JSONB, nullable=False),
)

# Institutions' status (from identity): a suspended institution issues nothing.
institutions = Table(
    "institutions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("status", Text, nullable=False),
    Column("status_changed_at", TZ, nullable=False),
)

# What is known of an enrollment; a certificate is issued once enrollment, completion and a passed
# final exam are all here, whatever order they came in.
enrollment_facts = Table(
    "enrollment_facts",
    metadata,
    Column("enrollment_id", Uuid, primary_key=True),
    Column("class_id", Uuid),
    Column("trainee_id", Uuid),
    Column("institution_id", Uuid),
    Column("region_code", Text),
    Column("employer_credit_code", Text),
    Column("enrolled_at", TZ),
    # ClassCompleted as JSON; cleared when invalidated hours no longer meet the requirement.
    Column("completion", JSONB),
    # The first passed final attempt (AttemptGraded as JSON).
    Column("final_exam", JSONB),
    # The trace context each fact arrived with ({"enrollment": {"traceparent": ...}, ...}): the
    # issuance continues the last fact's trace and links the others (docs/operations.md, "Traces").
    Column("traces", JSONB),
    Column("updated_at", TZ, nullable=False),
    # Retention (docs/records.md): the class's rulebook years (from courses), and the enrollment's
    # certificate is kept until its issuance or revocation, whichever is later, plus those years.
    Column("retention_years", Integer),
    Column("retention_until", TZ),
    Index("ix_enrollment_facts_institution_id", "institution_id"),
)

# Proof of each holder erasure at the end of retention (docs/records.md, "Retention"): the
# certificate's name and masked ID number were replaced; these digests prove what they were.
certificate_erasures = Table(
    "certificate_erasures",
    metadata,
    Column("certificate_id", Uuid, primary_key=True),
    Column("enrollment_id", Uuid, nullable=False),
    Column("retention_until", TZ, nullable=False),
    Column("erased_at", TZ, nullable=False),
    # SHA-256 over the sorted (field, SHA-256 of the stored value) lines.
    Column("digest", Text, nullable=False),
)

serial_counters = Table(
    "serial_counters",
    metadata,
    Column("region_code", Text, nullable=False),
    Column("year", Integer, nullable=False),
    Column("last_value", BigInteger, nullable=False),
    PrimaryKeyConstraint("region_code", "year"),
)

certificates = Table(
    "certificates",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("serial_number", Text, nullable=False, unique=True),
    Column("verification_code", Text, nullable=False),
    Column("enrollment_id", Uuid, nullable=False, unique=True),
    Column("class_id", Uuid, nullable=False),
    Column("trainee_id", Uuid, nullable=False),
    Column("trainee_name", Text, nullable=False),
    # Masked; the whole number never leaves identity.
    Column("trainee_national_id", Text, nullable=False),
    Column("employer_credit_code", Text, nullable=False),
    Column("qualification_type", Text, nullable=False),
    Column("operation_type", Text, nullable=False),
    Column("training_kind", Text, nullable=False),
    Column("institution_id", Uuid, nullable=False),
    Column("institution_name", Text, nullable=False),
    Column("region_code", Text, nullable=False),
    Column("period_start", TZ, nullable=False),
    Column("period_end", TZ, nullable=False),
    Column("topics", JSONB, nullable=False),
    Column("total_hours", Double, nullable=False),
    Column("exam_attempt_id", Uuid, nullable=False),
    Column("exam_score", Double, nullable=False),
    Column("exam_max_points", Double, nullable=False),
    Column("exam_pass_mark", Double, nullable=False),
    Column("issue_date", Date, nullable=False),
    Column("valid_until", Date, nullable=False),
    Column("issued_at", TZ, nullable=False),
    Column("key_id", Text, nullable=False),
    Column("signature", LargeBinary, nullable=False),
    Column("qr_token", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("revoked_at", TZ),
    Column("revocation_reason", Text),
    Column("revoked_by", Text),
    Column("revoked_role", Text),
    Index("ix_certificates_trainee_id", "trainee_id"),
    Index("ix_certificates_institution_id", "institution_id"),
    Index("ix_certificates_region_code", "region_code"),
    Index("ix_certificates_issued_at_id", "issued_at", "id"),
)
