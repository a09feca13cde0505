"""Retention of certificates (docs/records.md, "Retention"): an enrollment's certificate is kept until
its issuance or revocation, whichever is later, plus the class's rulebook years, dated on the
enrollment's facts (never on the chained certificate row). Certificates deletes nothing: the holder's
name on a certificate is part of the signed document."""

from __future__ import annotations

from sqlalchemy import func

from training_certificates.persistence.tables import certificates, enrollment_facts
from training_runtime.retention import EnrollmentDating

CERTIFICATE_DATING = EnrollmentDating(
    enrollments=enrollment_facts,
    key=enrollment_facts.c.enrollment_id,
    years=enrollment_facts.c.retention_years,
    until=enrollment_facts.c.retention_until,
    record_enrollment=certificates.c.enrollment_id,
    record_at=func.greatest(certificates.c.issued_at, certificates.c.revoked_at),
)
