"""The certificate as a document: its contents, serial number, verification code, dates, and the
canonical encoding that is signed.

The canonical encoding is UTF-8 JSON with sorted keys and no spaces; numbers that are not integers
are written as fixed-point strings and moments as RFC 3339 UTC with microseconds, so the bytes
depend only on the contents, never on how a value was stored or parsed. Version 1 is frozen: a new
field means a new version number, and verification re-encodes a certificate in the version it was
signed in.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

ENCODING_VERSION = 1
# Calendar dates on certificates are China Standard Time.
CHINA = timezone(timedelta(hours=8), "CST")
# Unambiguous characters (no 0/O, 1/I): the code is read off paper and typed in.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 8


@dataclass(frozen=True)
class TopicLine:
    topic_id: str
    topic_code: str
    required_hours: int
    credited_hours: float


@dataclass(frozen=True)
class CertificateDocument:
    certificate_id: str
    serial_number: str
    verification_code: str
    enrollment_id: str
    class_id: str
    trainee_id: str
    trainee_name: str
    # Masked resident ID number.
    trainee_national_id: str
    qualification_type: str
    operation_type: str
    training_kind: str
    institution_id: str
    institution_name: str
    region_code: str
    period_start: datetime
    period_end: datetime
    topics: tuple[TopicLine, ...]
    total_hours: float
    exam_attempt_id: str
    exam_score: float
    exam_max_points: float
    exam_pass_mark: float
    issue_date: date
    valid_until: date
    issued_at: datetime

    def canonical(self) -> bytes:
        """The exact bytes the signature covers."""
        body = {
            "v": ENCODING_VERSION,
            "certificate_id": self.certificate_id,
            "serial_number": self.serial_number,
            "verification_code": self.verification_code,
            "enrollment_id": self.enrollment_id,
            "class_id": self.class_id,
            "trainee_id": self.trainee_id,
            "trainee_name": self.trainee_name,
            "trainee_national_id": self.trainee_national_id,
            "qualification_type": self.qualification_type,
            "operation_type": self.operation_type,
            "training_kind": self.training_kind,
            "institution_id": self.institution_id,
            "institution_name": self.institution_name,
            "region_code": self.region_code,
            "period_start": moment(self.period_start),
            "period_end": moment(self.period_end),
            "topics": [
                {
                    "topic_id": t.topic_id,
                    "topic_code": t.topic_code,
                    "required_hours": t.required_hours,
                    "credited_hours": hours(t.credited_hours),
                }
                for t in self.topics
            ],
            "total_hours": hours(self.total_hours),
            "exam_attempt_id": self.exam_attempt_id,
            "exam_score": points(self.exam_score),
            "exam_max_points": points(self.exam_max_points),
            "exam_pass_mark": points(self.exam_pass_mark),
            "issue_date": self.issue_date.isoformat(),
            "valid_until": self.valid_until.isoformat(),
            "issued_at": moment(self.issued_at),
        }
        return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()

    def digest(self) -> bytes:
        return hashlib.sha256(self.canonical()).digest()


def moment(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def hours(value: float) -> str:
    return f"{value:.2f}"


def points(value: float) -> str:
    return f"{value:.1f}"


def serial_number(region_code: str, year: int, sequence: int) -> str:
    """Region, year and a sequence per region and year: 440106-2026-000123."""
    return f"{region_code}-{year:04d}-{sequence:06d}"


def new_verification_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(value: str) -> str:
    """What a person typed: case and spaces do not matter."""
    return "".join(value.split()).upper()


def issue_dates(issued_at: datetime, validity_days: int) -> tuple[date, date]:
    """The printed issue date (China Standard Time) and the last day of validity."""
    issued = issued_at.astimezone(CHINA).date()
    return issued, issued + timedelta(days=validity_days - 1)
