"""Retention of the hour ledger (docs/records.md, "Retention"): an enrollment's ledger is kept until
its latest entry plus the class's rulebook years, dated on the enrollment (never on the chained
entries). Learning deletes nothing: its records hold trainees by id only."""

from __future__ import annotations

from training_learning.persistence.tables import enrollments, ledger_entries
from training_runtime.retention import EnrollmentDating

LEDGER_DATING = EnrollmentDating(
    enrollments=enrollments,
    key=enrollments.c.id,
    years=enrollments.c.retention_years,
    until=enrollments.c.retention_until,
    record_enrollment=ledger_entries.c.enrollment_id,
    record_at=ledger_entries.c.recorded_at,
)
