"""Retention's own tables (on identity's metadata; created by migration 0004): each run of the
retention job, and the proof of each personal-data erasure. Face-data deletions are proven in
`face_data_deletions`, with the run that made them."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Integer, Table, Text, Uuid

from training_identity.persistence.tables import metadata

TZ = DateTime(timezone=True)

retention_runs = Table(
    "retention_runs",
    metadata,
    Column("id", Uuid, primary_key=True),
    # "job" (the background job) or "command" (python -m training_identity retention run).
    Column("trigger", Text, nullable=False),
    Column("dry_run", Boolean, nullable=False),
    Column("started_at", TZ, nullable=False),
    Column("finished_at", TZ),
    Column("snapshots_deleted", Integer, nullable=False, server_default="0"),
    Column("baselines_deleted", Integer, nullable=False, server_default="0"),
    Column("users_erased", Integer, nullable=False, server_default="0"),
)

personal_data_erasures = Table(
    "personal_data_erasures",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, nullable=False, index=True),
    Column("run_id", Uuid, nullable=False),
    Column("reason", Text, nullable=False),
    # The trainee's retention end the erasure followed.
    Column("retention_until", TZ, nullable=False),
    Column("erased_at", TZ, nullable=False),
    # Which fields were erased, e.g. "display_name, national_id, phone".
    Column("fields", Text, nullable=False),
    # SHA-256 over the sorted (field, SHA-256 of the stored value) pairs: proves what was erased
    # without keeping it.
    Column("digest", Text, nullable=False),
)
