"""What the face use cases return: plain records the API layer turns into protobuf."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from training_identity.face.rules import Outcome, Purpose


@dataclass(frozen=True)
class ConsentView:
    consent_id: str
    consented_at: datetime
    retain_until: datetime


@dataclass(frozen=True)
class EnrollmentView:
    enrolled_at: datetime
    face_width: int
    face_height: int


@dataclass(frozen=True)
class FaceCheckView:
    face_check_id: str
    user_id: str
    purpose: Purpose
    outcome: Outcome
    # None unless exactly one usable face was found.
    distance: float | None
    threshold: float
    context_ref: str
    checked_at: datetime
    checked_by: str
    has_snapshot: bool

    @property
    def matched(self) -> bool:
        return self.outcome is Outcome.MATCH


@dataclass(frozen=True)
class FaceStatusView:
    consented_at: datetime | None
    retain_until: datetime | None
    enrolled_at: datetime | None


@dataclass(frozen=True)
class DeletionView:
    deletion_id: str
    deleted_at: datetime
    records_deleted: int
    digest: str


def check_view(row) -> FaceCheckView:  # type: ignore[no-untyped-def]
    return FaceCheckView(
        face_check_id=str(row.id),
        user_id=str(row.user_id),
        purpose=Purpose(row.purpose),
        outcome=Outcome(row.outcome),
        distance=row.distance,
        threshold=row.threshold,
        context_ref=row.context_ref,
        checked_at=row.checked_at,
        checked_by=row.checked_by,
        has_snapshot=row.snapshot_id is not None,
    )
