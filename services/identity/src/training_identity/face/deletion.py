"""Deleting face data with proof, shared by DeleteFaceData, WithdrawFaceConsent and the retention
job. Snapshots that are training records under retention (`face_snapshots.retention_until` in the
future) are never deleted here: a caller either refuses (DeleteFaceData), keeps them (a withdrawal)
or takes only what is due (the job)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from sqlalchemy import func, or_, select

from training.identity.v1 import identity_events_pb2 as events
from training_events import Event
from training_identity.face import rules
from training_identity.face.rules import DeletedRecord
from training_identity.face.tables import face_baselines, face_data_deletions, face_snapshots
from training_runtime.db import Transaction
from training_runtime.errors import FailedPrecondition
from training_runtime.protoconv import timestamp

FACE_DATA_DELETED = "training.identity.face_data.deleted.v1"
RETENTION_NOT_OVER = "RETENTION_NOT_OVER"


class Scope(Enum):
    """Which face data a deletion takes."""

    # The baseline and every snapshot not under retention (a withdrawal, an ended consent, an erasure).
    ALL_BUT_RETAINED = "all_but_retained"
    # Only probe snapshots whose retention has ended (the job, for a trainee who may still train).
    DUE_SNAPSHOTS = "due_snapshots"


@dataclass(frozen=True)
class Retained:
    count: int
    until: datetime | None


@dataclass(frozen=True)
class FaceDeletion:
    deletion_id: str
    deleted_at: datetime
    baselines: int
    snapshots: int
    retained: Retained
    digest: str

    @property
    def records_deleted(self) -> int:
        return self.baselines + self.snapshots


async def retained_snapshots(tx: Transaction, user_id: uuid.UUID, *, lock: bool = False) -> Retained:
    """The trainee's snapshots still under retention now, and when the last of them is due."""
    query = select(face_snapshots.c.retention_until).where(
        face_snapshots.c.user_id == user_id, face_snapshots.c.retention_until > tx.now()
    )
    if lock:
        query = query.with_for_update()
    dates = (await tx.session.execute(query)).scalars().all()
    return Retained(len(dates), max(dates) if dates else None)


def retention_not_over(retained: Retained) -> FailedPrecondition:
    assert retained.until is not None
    day = retained.until.date().isoformat()
    return FailedPrecondition(
        RETENTION_NOT_OVER,
        f"{retained.count} face-check snapshots are training records kept until {day}; "
        "they cannot be deleted before their retention ends",
        metadata={"retained_until": retained.until.isoformat(), "records_retained": str(retained.count)},
    )


async def delete_face_data(
    tx: Transaction,
    user_id: uuid.UUID,
    scope: Scope,
    *,
    actor_id: str,
    actor_role: str,
    actor_role_proto: int,
    reason: str,
    run_id: uuid.UUID | None = None,
) -> FaceDeletion:
    """Delete what `scope` takes, store the proof and emit FaceDataDeleted, in `tx`."""
    now = tx.now()
    deleted: list[DeletedRecord] = []
    if scope is Scope.ALL_BUT_RETAINED:
        baselines = await tx.session.execute(
            face_baselines.delete()
            .where(face_baselines.c.user_id == user_id)
            .returning(face_baselines.c.user_id, func.encode(func.sha256(face_baselines.c.embedding_enc), "hex"))
        )
        deleted += [DeletedRecord("face_baselines", str(r[0]), r[1]) for r in baselines]
        taken = or_(face_snapshots.c.retention_until.is_(None), face_snapshots.c.retention_until <= now)
    else:
        taken = face_snapshots.c.retention_until <= now
    snapshots = await tx.session.execute(
        face_snapshots.delete()
        .where(face_snapshots.c.user_id == user_id, taken)
        .returning(face_snapshots.c.id, func.encode(func.sha256(face_snapshots.c.image_enc), "hex"))
    )
    deleted += [DeletedRecord("face_snapshots", str(r[0]), r[1]) for r in snapshots]
    retained = await retained_snapshots(tx, user_id)
    counts = {
        "face_baselines": sum(1 for r in deleted if r.table == "face_baselines"),
        "face_snapshots": sum(1 for r in deleted if r.table == "face_snapshots"),
    }
    digest = rules.deletion_digest(str(user_id), now, deleted)
    deletion_id = uuid.uuid4()
    await tx.session.execute(
        face_data_deletions.insert().values(
            id=deletion_id,
            user_id=user_id,
            actor_id=actor_id,
            actor_role=actor_role,
            reason=reason,
            deleted_at=now,
            summary=", ".join(f"{table}: {count}" for table, count in counts.items()),
            records_deleted=len(deleted),
            digest=digest,
            run_id=run_id,
            records_retained=retained.count,
        )
    )
    await tx.emit(
        Event(
            FACE_DATA_DELETED,
            events.FaceDataDeleted(
                user_id=str(user_id),
                deletion_id=str(deletion_id),
                records_deleted=len(deleted),
                actor_id=actor_id,
                actor_role=actor_role_proto,  # type: ignore[arg-type]
                deleted_at=timestamp(now),
                records_retained=retained.count,
            ),
            key=str(user_id),
        )
    )
    return FaceDeletion(
        deletion_id=str(deletion_id),
        deleted_at=now,
        baselines=counts["face_baselines"],
        snapshots=counts["face_snapshots"],
        retained=retained,
        digest=digest,
    )
