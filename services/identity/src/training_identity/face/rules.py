"""Face-data rules, free of gRPC, SQL and image code: what an analysis means for enrollment and for a
check, who may touch whose face data, what a consent must say, and the digest that proves a deletion."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from training_identity.face.matcher import FaceAnalysis
from training_runtime.auth.principal import Principal, Role
from training_runtime.errors import FailedPrecondition, PermissionDenied, Validator

# Reason codes (ErrorInfo.reason) of FAILED_PRECONDITION answers.
FACE_NOT_FOUND = "FACE_NOT_FOUND"
FACE_MULTIPLE = "FACE_MULTIPLE"
FACE_TOO_SMALL = "FACE_TOO_SMALL"
FACE_CONSENT_REQUIRED = "FACE_CONSENT_REQUIRED"
FACE_NOT_ENROLLED = "FACE_NOT_ENROLLED"
FACE_REENROLLMENT_REQUIRED = "FACE_REENROLLMENT_REQUIRED"
NOT_A_TRAINEE = "NOT_A_TRAINEE"

MAX_RETENTION_DAYS = 3650
MAX_PURPOSE_LENGTH = 500
MAX_REASON_LENGTH = 500
MAX_CONTEXT_REF_LENGTH = 200


class Outcome(StrEnum):
    MATCH = "match"
    NO_MATCH = "no_match"
    NO_FACE = "no_face"
    MULTIPLE_FACES = "multiple_faces"
    FACE_TOO_SMALL = "face_too_small"


class Purpose(StrEnum):
    STUDY_START = "study_start"
    STUDY_RANDOM = "study_random"
    STUDY_END = "study_end"
    EXAM_START = "exam_start"
    EXAM_RANDOM = "exam_random"
    SELF_TEST = "self_test"


class Access(StrEnum):
    """What a face-data access log entry records the caller doing."""

    ENROLL = "enroll"
    VERIFY = "verify"
    READ_STATUS = "read_status"
    LIST_CHECKS = "list_checks"
    READ_SNAPSHOT = "read_snapshot"
    DELETE = "delete"


def face_problem(analysis: FaceAnalysis, min_face_size: int) -> Outcome | None:
    """Why a readable photo cannot be matched, or None when it holds exactly one usable face."""
    if not analysis.faces:
        return Outcome.NO_FACE
    if len(analysis.faces) > 1:
        return Outcome.MULTIPLE_FACES
    if analysis.faces[0].width < min_face_size or analysis.embedding is None:
        return Outcome.FACE_TOO_SMALL
    return None


_ENROLLMENT_REFUSALS = {
    Outcome.NO_FACE: (FACE_NOT_FOUND, "no face was found in the photo"),
    Outcome.MULTIPLE_FACES: (FACE_MULTIPLE, "the photo shows more than one face; only the trainee may be in view"),
    Outcome.FACE_TOO_SMALL: (FACE_TOO_SMALL, "the face is too small to trust; move closer to the camera"),
}


def ensure_enrollable(analysis: FaceAnalysis, min_face_size: int) -> None:
    problem = face_problem(analysis, min_face_size)
    if problem is not None:
        reason, message = _ENROLLMENT_REFUSALS[problem]
        face = analysis.largest_face
        metadata = {"faces_found": str(len(analysis.faces)), "min_face_size": str(min_face_size)}
        if face is not None:
            metadata["face_width"] = str(face.width)
        raise FailedPrecondition(reason, message, metadata=metadata)


def decide(distance: float, threshold: float) -> Outcome:
    """Same person when the embeddings are no further apart than the threshold."""
    return Outcome.MATCH if distance <= threshold else Outcome.NO_MATCH


def ensure_own_or_service(principal: Principal, user_id: str) -> None:
    """A trainee reaches only its own face data; a platform service any trainee's; nobody else any."""
    if principal.is_service:
        return
    if principal.role is Role.TRAINEE and principal.subject == user_id:
        return
    raise PermissionDenied("face data is available only to its owner and to platform services")


def ensure_may_delete(principal: Principal, user_id: str) -> None:
    if principal.role is Role.OPERATOR:
        return
    if principal.role is Role.TRAINEE and principal.subject == user_id:
        return
    raise PermissionDenied("face data may be deleted only by its owner or the platform operator")


@dataclass(frozen=True)
class ConsentTerms:
    purpose: str
    retention_days: int

    def validate(self) -> None:
        check = Validator()
        if check.require(self.purpose.strip(), "purpose") and len(self.purpose) > MAX_PURPOSE_LENGTH:
            check.add("purpose", f"must be at most {MAX_PURPOSE_LENGTH} characters")
        if not 1 <= self.retention_days <= MAX_RETENTION_DAYS:
            check.add("retention_days", f"must be 1 to {MAX_RETENTION_DAYS} days")
        check.check()

    def retain_until(self, consented_at: datetime) -> datetime:
        return consented_at + timedelta(days=self.retention_days)


def consent_in_force(withdrawn_at: datetime | None, retain_until: datetime, now: datetime) -> bool:
    return withdrawn_at is None and now < retain_until


def check_reason(check: Validator, reason: str, field: str = "reason") -> None:
    if check.require(reason.strip(), field, "is required: say why the face data is read") and (
        len(reason) > MAX_REASON_LENGTH
    ):
        check.add(field, f"must be at most {MAX_REASON_LENGTH} characters")


def check_context_ref(check: Validator, context_ref: str) -> None:
    if len(context_ref) > MAX_CONTEXT_REF_LENGTH:
        check.add("context_ref", f"must be at most {MAX_CONTEXT_REF_LENGTH} characters")
    elif any(not ch.isprintable() for ch in context_ref):
        check.add("context_ref", "must be printable text")


@dataclass(frozen=True)
class DeletedRecord:
    """One deleted row: its table, id, and the SHA-256 of its stored (encrypted) content."""

    table: str
    record_id: str
    content_sha256: str


def deletion_digest(user_id: str, deleted_at: datetime, records: Iterable[DeletedRecord]) -> str:
    """SHA-256 over the sorted list of what was deleted: a later audit holding a backup can show
    which records the deletion covered without the proof keeping any face data itself."""
    lines = [f"user:{user_id}", f"at:{deleted_at.isoformat()}"]
    lines.extend(sorted(f"{r.table}:{r.record_id}:{r.content_sha256}" for r in records))
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()
