"""The retention job: deletes face data and erases personal data when they are due, with proof.

Each run (the background job every `IDENTITY_RETENTION_INTERVAL_SECONDS`, or
`python -m training_identity retention run [--dry-run]`) is recorded in `retention_runs` and does
three things, one trainee per transaction:

1. Face-check snapshots whose retention has ended are deleted (proof in `face_data_deletions`).
2. A trainee whose face consent has ended (expired or withdrawn) loses the baseline and every
   snapshot that is not a training record under retention.
3. A trainee whose records' retention has ended (`users.retention_until`) has its name, ID and phone
   numbers erased (the row stays, as a tombstone, so records elsewhere still name the account), its
   remaining face data deleted and its sessions revoked (proof in `personal_data_erasures`).

Face-check records, ledger entries and every other chained row are never touched: only the
encrypted blobs and personal columns, which no chain hashes. A dry run makes the same decisions in
transactions it rolls back, so its counts are exactly what a real run would have done then.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import exists, func, or_, select, true, update

from training.identity.v1 import identity_events_pb2 as events
from training_events import Event
from training_identity.face.deletion import Scope, delete_face_data, retained_snapshots
from training_identity.face.rules import Access
from training_identity.face.tables import face_baselines, face_consents, face_snapshots
from training_identity.face.vault import FaceVault
from training_identity.persistence.tables import refresh_tokens, users
from training_identity.retention.tables import personal_data_erasures, retention_runs
from training_runtime.auth.principal import Principal, Role
from training_runtime.clock import Clock
from training_runtime.db import Transaction, UnitOfWork
from training_runtime.protoconv import role_to_proto, timestamp
from training_runtime.retention import erasure_digest

log = logging.getLogger(__name__)

PERSONAL_DATA_ERASED = "training.identity.personal_data.erased.v1"
# What an erased trainee's name becomes; the ID and phone numbers become NULL.
ERASED_NAME = "(erased)"
ERASED_PASSWORD_HASH = "!erased"  # noqa: S105 (not a password: no Argon2 hash matches it)
SNAPSHOTS_DUE = "retention over: face-check snapshots"
CONSENT_ENDED = "face consent ended"
RECORDS_DUE = "retention over: personal data"
ERASED_FIELDS = ("display_name", "national_id", "phone", "password")


@dataclass(frozen=True)
class RetentionReport:
    run_id: str
    dry_run: bool
    started_at: datetime
    snapshots_deleted: int = 0
    baselines_deleted: int = 0
    users_erased: int = 0

    def summary(self) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        return (
            f"retention run {self.run_id} at {self.started_at.isoformat()}: {verb} "
            f"{self.snapshots_deleted} face snapshots and {self.baselines_deleted} face baselines, "
            f"{'would erase' if self.dry_run else 'erased'} the personal data of {self.users_erased} trainees"
        )


class _DryRun(Exception):
    """Raised at the end of a dry run's transaction so that it rolls back."""

    def __init__(self, counts: tuple[int, int, int]) -> None:
        super().__init__("dry run")
        self.counts = counts


class _Shared:
    """A dry run's one transaction, handed to every step as if each had its own."""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def __aenter__(self) -> Transaction:
        return self._tx

    async def __aexit__(self, *_exc: object) -> None:
        return None


class RetentionJob:
    def __init__(self, uow: UnitOfWork, clock: Clock, vault: FaceVault, *, interval_seconds: float = 3600) -> None:
        self._uow = uow
        self._clock = clock
        self._vault = vault
        self._interval = interval_seconds

    async def run(self) -> None:
        """The background job: a run now and then every interval, until cancelled."""
        while True:
            try:
                report = await self.run_once(trigger="job")
                if report.snapshots_deleted or report.baselines_deleted or report.users_erased:
                    log.info(report.summary())
            except Exception:
                log.exception("retention run failed; the next one retries")
            await asyncio.sleep(self._interval)

    async def run_once(
        self, *, dry_run: bool = False, trigger: Literal["job", "command"] = "command"
    ) -> RetentionReport:
        run_id = uuid.uuid4()
        started_at = self._clock.now()
        async with self._uow.begin() as tx:
            await tx.session.execute(
                retention_runs.insert().values(id=run_id, trigger=trigger, dry_run=dry_run, started_at=started_at)
            )
        if dry_run:
            # One transaction for the whole run, rolled back: later steps see what earlier ones did.
            try:
                async with self._uow.begin() as tx:
                    counts = await self._steps(started_at, run_id, lambda: _Shared(tx))
                    raise _DryRun(counts)
            except _DryRun as done:
                counts = done.counts
        else:
            counts = await self._steps(started_at, run_id, self._uow.begin)
        report = RetentionReport(str(run_id), dry_run, started_at, *counts)
        async with self._uow.begin() as tx:
            await tx.session.execute(
                update(retention_runs)
                .where(retention_runs.c.id == run_id)
                .values(
                    finished_at=self._clock.now(),
                    snapshots_deleted=report.snapshots_deleted,
                    baselines_deleted=report.baselines_deleted,
                    users_erased=report.users_erased,
                )
            )
        return report

    async def _steps(self, now: datetime, run_id: uuid.UUID, begin) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
        """The three steps, one trainee per transaction from `begin`; (snapshots, baselines, users)."""
        actor = Principal(subject=f"retention-job:{run_id}", role=Role.SERVICE)
        snapshots = baselines = erased = 0
        steps = (
            (self._snapshots_due(now), self._delete_due_snapshots),
            (self._consent_ended(now), self._delete_after_consent),
            (self._records_due(now), self._erase),
        )
        for query, step in steps:
            async with begin() as tx:
                user_ids = list((await tx.session.execute(query)).scalars().all())
            for user_id in user_ids:
                async with begin() as tx:
                    deleted = await step(tx, user_id, actor, run_id)
                if deleted is None:
                    continue
                baselines += deleted[0]
                snapshots += deleted[1]
                erased += step == self._erase
        return snapshots, baselines, erased

    # -- what is due -----------------------------------------------------------------------------

    @staticmethod
    def _snapshots_due(now: datetime):  # type: ignore[no-untyped-def]
        return select(face_snapshots.c.user_id).where(face_snapshots.c.retention_until <= now).distinct()

    @staticmethod
    def _consent_ended(now: datetime, user_id: uuid.UUID | None = None):  # type: ignore[no-untyped-def]
        """Trainees whose latest consent has ended and who still have a baseline or an undated snapshot."""
        latest = (
            select(face_consents.c.withdrawn_at, face_consents.c.retain_until)
            .where(face_consents.c.user_id == users.c.id)
            .order_by(face_consents.c.consented_at.desc())
            .limit(1)
            .lateral("consent")
        )
        has_baseline = exists().where(face_baselines.c.user_id == users.c.id)
        has_undated = exists().where(face_snapshots.c.user_id == users.c.id, face_snapshots.c.retention_until.is_(None))
        query = (
            select(users.c.id)
            .join(latest, true())
            .where(
                or_(latest.c.withdrawn_at.is_not(None), latest.c.retain_until <= now), or_(has_baseline, has_undated)
            )
        )
        return query if user_id is None else query.where(users.c.id == user_id)

    @staticmethod
    def _records_due(now: datetime):  # type: ignore[no-untyped-def]
        return select(users.c.id).where(
            users.c.role == Role.TRAINEE.value, users.c.erased_at.is_(None), users.c.retention_until <= now
        )

    # -- the steps ---------------------------------------------------------------------------------

    async def _delete_due_snapshots(self, tx: Transaction, user_id: uuid.UUID, actor: Principal, run_id: uuid.UUID):  # type: ignore[no-untyped-def]
        # Two replicas running the job at once queue on the trainee's row; the second finds nothing due.
        await tx.session.execute(select(users.c.id).where(users.c.id == user_id).with_for_update())
        due = await tx.session.scalar(
            select(func.count())
            .select_from(face_snapshots)
            .where(face_snapshots.c.user_id == user_id, face_snapshots.c.retention_until <= tx.now())
        )
        if not due:
            return None
        return await self._delete(tx, user_id, Scope.DUE_SNAPSHOTS, SNAPSHOTS_DUE, actor, run_id)

    async def _delete_after_consent(self, tx: Transaction, user_id: uuid.UUID, actor: Principal, run_id: uuid.UUID):  # type: ignore[no-untyped-def]
        # Baseline, then trainee: the order a check takes them in (it dates the trainee last).
        await self._lock_baseline(tx, user_id)
        await tx.session.execute(select(users.c.id).where(users.c.id == user_id).with_for_update())
        ended = await tx.session.scalar(self._consent_ended(tx.now(), user_id))
        if ended is None:
            return None
        return await self._delete(tx, user_id, Scope.ALL_BUT_RETAINED, CONSENT_ENDED, actor, run_id)

    async def _erase(self, tx: Transaction, user_id: uuid.UUID, actor: Principal, run_id: uuid.UUID):  # type: ignore[no-untyped-def]
        now = tx.now()
        await self._lock_baseline(tx, user_id)
        row = (
            await tx.session.execute(
                select(
                    users.c.retention_until,
                    users.c.erased_at,
                    func.encode(func.sha256(func.convert_to(users.c.display_name, "UTF8")), "hex").label("name"),
                    func.encode(func.sha256(users.c.national_id_enc), "hex").label("national_id"),
                    func.encode(func.sha256(users.c.phone_enc), "hex").label("phone"),
                    func.encode(func.sha256(func.convert_to(users.c.password_hash, "UTF8")), "hex").label("password"),
                )
                .where(users.c.id == user_id)
                .with_for_update()
            )
        ).one()
        if row.erased_at is not None or row.retention_until is None or row.retention_until > now:
            return None
        if (await retained_snapshots(tx, user_id)).count:
            # Cannot happen while the trainee's date is the latest of its snapshots'; never erase early.
            log.warning("trainee %s is due for erasure but still has retained snapshots; skipped", user_id)
            return None
        await tx.session.execute(
            update(face_consents)
            .where(face_consents.c.user_id == user_id, face_consents.c.withdrawn_at.is_(None))
            .values(withdrawn_at=now)
        )
        counts = (0, 0)
        if await self._has_face_data(tx, user_id):
            counts = await self._delete(tx, user_id, Scope.ALL_BUT_RETAINED, RECORDS_DUE, actor, run_id)
        await tx.session.execute(
            update(users)
            .where(users.c.id == user_id)
            .values(
                display_name=ERASED_NAME,
                national_id_enc=None,
                national_id_hash=None,
                phone_enc=None,
                phone_hash=None,
                password_hash=ERASED_PASSWORD_HASH,
                erased_at=now,
            )
        )
        await tx.session.execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.user_id == user_id, refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now, revoke_reason="personal data erased")
        )
        stored = {
            "display_name": row.name,
            "national_id": row.national_id,
            "phone": row.phone,
            "password": row.password,
        }
        erasure_id = uuid.uuid4()
        await tx.session.execute(
            personal_data_erasures.insert().values(
                id=erasure_id,
                user_id=user_id,
                run_id=run_id,
                reason=RECORDS_DUE,
                retention_until=row.retention_until,
                erased_at=now,
                fields=", ".join(name for name in ERASED_FIELDS if stored[name] is not None),
                digest=erasure_digest(
                    f"user:{user_id}", "users", now, {k: v for k, v in stored.items() if v is not None}
                ),
            )
        )
        await tx.emit(
            Event(
                PERSONAL_DATA_ERASED,
                events.PersonalDataErased(
                    user_id=str(user_id),
                    erasure_id=str(erasure_id),
                    run_id=str(run_id),
                    retention_until=timestamp(row.retention_until),
                    erased_at=timestamp(now),
                ),
                key=str(user_id),
            )
        )
        return counts

    @staticmethod
    async def _lock_baseline(tx: Transaction, user_id: uuid.UUID) -> None:
        await tx.session.execute(
            select(face_baselines.c.user_id).where(face_baselines.c.user_id == user_id).with_for_update()
        )

    @staticmethod
    async def _has_face_data(tx: Transaction, user_id: uuid.UUID) -> bool:
        baseline = await tx.session.scalar(select(exists().where(face_baselines.c.user_id == user_id)))
        snapshot = await tx.session.scalar(select(exists().where(face_snapshots.c.user_id == user_id)))
        return bool(baseline or snapshot)

    async def _delete(  # type: ignore[no-untyped-def]
        self, tx: Transaction, user_id: uuid.UUID, scope: Scope, reason: str, actor: Principal, run_id: uuid.UUID
    ):
        deletion = await delete_face_data(
            tx,
            user_id,
            scope,
            actor_id=actor.subject,
            actor_role=actor.role.value,
            actor_role_proto=role_to_proto(actor.role),
            reason=reason,
            run_id=run_id,
        )
        await self._vault.record_access(tx, actor, user_id, Access.DELETE, reason, deletion.deletion_id)
        return deletion.baselines, deletion.snapshots
