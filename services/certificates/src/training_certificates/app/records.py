"""Certificates as the app layer hands them around: the signed document plus its status."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from training_certificates.domain.access import Scope
from training_certificates.domain.document import CertificateDocument, TopicLine
from training_certificates.persistence.tables import certificates

VALID = "valid"
REVOKED = "revoked"


@dataclass(frozen=True)
class CertificateView:
    document: CertificateDocument
    employer_credit_code: str
    key_id: str
    signature: bytes
    qr_token: str
    status: str
    revoked_at: datetime | None
    revocation_reason: str

    @property
    def scope(self) -> Scope:
        d = self.document
        return Scope(d.trainee_id, d.institution_id, d.region_code, self.employer_credit_code)


def document_of(row: Any) -> CertificateDocument:
    """Re-build the signed document from a stored row (verification re-encodes it)."""
    return CertificateDocument(
        certificate_id=str(row.id),
        serial_number=row.serial_number,
        verification_code=row.verification_code,
        enrollment_id=str(row.enrollment_id),
        class_id=str(row.class_id),
        trainee_id=str(row.trainee_id),
        trainee_name=row.trainee_name,
        trainee_national_id=row.trainee_national_id,
        qualification_type=row.qualification_type,
        operation_type=row.operation_type,
        training_kind=row.training_kind,
        institution_id=str(row.institution_id),
        institution_name=row.institution_name,
        region_code=row.region_code,
        period_start=row.period_start,
        period_end=row.period_end,
        topics=tuple(
            TopicLine(t["topic_id"], t["topic_code"], int(t["required_hours"]), float(t["credited_hours"]))
            for t in row.topics
        ),
        total_hours=row.total_hours,
        exam_attempt_id=str(row.exam_attempt_id),
        exam_score=row.exam_score,
        exam_max_points=row.exam_max_points,
        exam_pass_mark=row.exam_pass_mark,
        issue_date=row.issue_date,
        valid_until=row.valid_until,
        issued_at=row.issued_at,
    )


def view_of(row: Any) -> CertificateView:
    return CertificateView(
        document=document_of(row),
        employer_credit_code=row.employer_credit_code,
        key_id=row.key_id,
        signature=bytes(row.signature),
        qr_token=row.qr_token,
        status=row.status,
        revoked_at=row.revoked_at,
        revocation_reason=row.revocation_reason or "",
    )


def row_values(document: CertificateDocument) -> dict[str, Any]:
    """The columns that hold the document itself."""
    d = document
    return {
        "id": uuid.UUID(d.certificate_id),
        "serial_number": d.serial_number,
        "verification_code": d.verification_code,
        "enrollment_id": uuid.UUID(d.enrollment_id),
        "class_id": uuid.UUID(d.class_id),
        "trainee_id": uuid.UUID(d.trainee_id),
        "trainee_name": d.trainee_name,
        "trainee_national_id": d.trainee_national_id,
        "qualification_type": d.qualification_type,
        "operation_type": d.operation_type,
        "training_kind": d.training_kind,
        "institution_id": uuid.UUID(d.institution_id),
        "institution_name": d.institution_name,
        "region_code": d.region_code,
        "period_start": d.period_start,
        "period_end": d.period_end,
        "topics": [
            {
                "topic_id": t.topic_id,
                "topic_code": t.topic_code,
                "required_hours": t.required_hours,
                "credited_hours": t.credited_hours,
            }
            for t in d.topics
        ],
        "total_hours": d.total_hours,
        "exam_attempt_id": uuid.UUID(d.exam_attempt_id),
        "exam_score": d.exam_score,
        "exam_max_points": d.exam_max_points,
        "exam_pass_mark": d.exam_pass_mark,
        "issue_date": d.issue_date,
        "valid_until": d.valid_until,
        "issued_at": d.issued_at,
    }


def by_serial(serial_number: str):  # type: ignore[no-untyped-def]
    return select(certificates).where(certificates.c.serial_number == serial_number)
