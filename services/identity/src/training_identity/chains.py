"""Identity's record chain (docs/records.md): face-check records.

Hashed: every column of a face check except `snapshot_id`, which is cleared when the trainee's face
data is deleted (the snapshot itself is biometric content, never chained). A face check holds no
other personal data: the trainee appears by id.
"""

from __future__ import annotations

from training_identity.face.tables import face_checks
from training_identity.settings import IdentitySettings
from training_records import ChainSet, ChainSpec

FACE_CHECKS = "identity.face_checks"

CHAINS = ChainSet(
    "identity",
    [
        ChainSpec(
            name=FACE_CHECKS,
            table=face_checks,
            id=face_checks.c.id,
            columns=tuple(c for c in face_checks.c if c.name != "snapshot_id"),
            order=(face_checks.c.checked_at, face_checks.c.id),
            description="every face-check record (enrolment, study, exam checks)",
        )
    ],
    settings=IdentitySettings,
)
