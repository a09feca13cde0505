"""Face-data tables (on identity's metadata; created by migration 0002).

Biometric content (baseline embeddings, snapshots) is stored only AES-GCM encrypted, bound by its
associated data to its own row, so a ciphertext copied into another trainee's row does not decrypt.
Face-check records, the access log and deletion proofs hold no biometric content and outlive a
deletion: they are the evidence that hours were credited honestly and that data was removed.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, Table, Text, Uuid

from training_identity.persistence.tables import metadata

face_consents = Table(
    "face_consents",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id"), nullable=False),
    Column("purpose", Text, nullable=False),
    Column("retention_days", Integer, nullable=False),
    Column("consented_at", DateTime(timezone=True), nullable=False),
    Column("retain_until", DateTime(timezone=True), nullable=False),
    Column("withdrawn_at", DateTime(timezone=True)),
    Index("face_consents_user", "user_id", "consented_at"),
)

face_snapshots = Table(
    "face_snapshots",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id"), nullable=False, index=True),
    # "baseline" (the enrollment photo) or "probe" (a check).
    Column("kind", Text, nullable=False),
    Column("image_enc", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Set for the probe of a training check (not a self-test) of an enrolled trainee: the snapshot is
    # a training record kept until then (docs/records.md, "Retention"); NULL: not a training record.
    Column("retention_until", DateTime(timezone=True), index=True),
)

face_baselines = Table(
    "face_baselines",
    metadata,
    Column("user_id", Uuid, ForeignKey("users.id"), primary_key=True),
    Column("model", Text, nullable=False),
    Column("embedding_enc", LargeBinary, nullable=False),
    Column("snapshot_id", Uuid, ForeignKey("face_snapshots.id"), nullable=False),
    Column("consent_id", Uuid, ForeignKey("face_consents.id"), nullable=False),
    Column("face_width", Integer, nullable=False),
    Column("face_height", Integer, nullable=False),
    Column("enrolled_at", DateTime(timezone=True), nullable=False),
)

face_checks = Table(
    "face_checks",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id"), nullable=False),
    Column("purpose", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("distance", Float),
    Column("threshold", Float, nullable=False),
    Column("model", Text, nullable=False),
    Column("faces_found", Integer, nullable=False),
    Column("context_ref", Text, nullable=False, server_default=""),
    # Set to NULL when the snapshot is deleted with the trainee's face data.
    Column("snapshot_id", Uuid, ForeignKey("face_snapshots.id", ondelete="SET NULL")),
    Column("checked_at", DateTime(timezone=True), nullable=False),
    Column("checked_by", Text, nullable=False),
    Column("checked_by_role", Text, nullable=False),
    Index("face_checks_user", "user_id", "checked_at", "id"),
    Index("face_checks_snapshot", "snapshot_id"),
)

face_data_access = Table(
    "face_data_access",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, nullable=False),
    Column("actor_id", Text, nullable=False),
    Column("actor_role", Text, nullable=False),
    Column("action", Text, nullable=False),
    # Why: the stated reason of a read, the purpose of a check, the reason of a deletion.
    Column("reason", Text, nullable=False),
    # What was touched: a face-check id, a snapshot id, a deletion id.
    Column("object_id", Text, nullable=False, server_default=""),
    Column("accessed_at", DateTime(timezone=True), nullable=False),
    Index("face_data_access_user", "user_id", "accessed_at"),
)

face_data_deletions = Table(
    "face_data_deletions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, nullable=False, index=True),
    Column("actor_id", Text, nullable=False),
    Column("actor_role", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("deleted_at", DateTime(timezone=True), nullable=False),
    # e.g. {"face_baselines": 1, "face_snapshots": 14}: what kinds of record were deleted, and how many.
    Column("summary", Text, nullable=False),
    Column("records_deleted", Integer, nullable=False),
    # rules.deletion_digest over (table, id, SHA-256 of the ciphertext) of every deleted record.
    Column("digest", Text, nullable=False),
    # The retention job's run that deleted (NULL for a deletion someone asked for).
    Column("run_id", Uuid),
    # Snapshots a consent withdrawal kept because they are training records under retention.
    Column("records_retained", Integer, nullable=False, server_default="0"),
)
