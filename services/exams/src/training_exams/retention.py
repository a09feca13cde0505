"""Retention of exam attempts (docs/records.md, "Retention"): an enrollment's attempts are kept until
the latest one's last change (start, submission or grading) plus the class's rulebook years, dated on
the enrollment (never on the chained attempt rows). Exams deletes nothing."""

from __future__ import annotations

from sqlalchemy import func

from training_exams.persistence.tables import attempts, enrollments
from training_runtime.retention import EnrollmentDating

ATTEMPT_DATING = EnrollmentDating(
    enrollments=enrollments,
    key=enrollments.c.id,
    years=enrollments.c.retention_years,
    until=enrollments.c.retention_until,
    record_enrollment=attempts.c.enrollment_id,
    record_at=func.greatest(attempts.c.started_at, attempts.c.submitted_at, attempts.c.graded_at),
)
