"""Face use cases: consent, enrollment, verification, reads and deletion, one unit of work each.

Photo analysis runs in the matcher (worker processes) before the write transaction opens, so no
transaction is held while a face is being embedded. The write transaction then re-reads what the
decision depends on under a lock (a deletion racing with a check either waits for it or wins
outright, never leaves half of each).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from opentelemetry import metrics
from sqlalchemy import select, true, update

from training.identity.v1 import identity_events_pb2 as events
from training_events import Event
from training_identity.chains import CHAINS, FACE_CHECKS
from training_identity.face import rules
from training_identity.face.deletion import (
    FaceDeletion,
    Scope,
    delete_face_data,
    retained_snapshots,
    retention_not_over,
)
from training_identity.face.images import ImageLimits, UnreadableImage, check_upload_size
from training_identity.face.matcher import FaceAnalysis, FaceMatcher
from training_identity.face.protoconv import outcome_to_proto, purpose_to_proto
from training_identity.face.rules import Access, ConsentTerms, Purpose
from training_identity.face.tables import (
    face_baselines,
    face_checks,
    face_consents,
    face_snapshots,
)
from training_identity.face.vault import FaceVault, actor_of
from training_identity.face.views import (
    ConsentView,
    DeletionView,
    EnrollmentView,
    FaceCheckView,
    FaceStatusView,
    check_view,
)
from training_identity.persistence.tables import users
from training_identity.retention.dating import date_training_check
from training_records import append
from training_runtime.auth.principal import Principal, Role
from training_runtime.db import Transaction, UnitOfWork
from training_runtime.errors import FailedPrecondition, InvalidArgument, NotFound, Validator
from training_runtime.paging import next_token, parse_page, parse_uuid
from training_runtime.protoconv import role_to_proto, timestamp

# The whole check: analysis in the matcher's worker processes, the comparison and the record.
_verification_ms = metrics.get_meter("training_identity.face").create_histogram(
    "face.verification.duration",
    unit="ms",
    description="Duration of each face verification (VerifyFace), by purpose and outcome",
)

FACE_CHECK_RECORDED = "training.identity.face_check.recorded.v1"
FACE_ENROLLED = "training.identity.face.enrolled.v1"


@dataclass(frozen=True)
class FaceSettings:
    threshold: float
    limits: ImageLimits
    # Retention of an enrollment learnt before courses announced its retention years.
    retention_default_years: int = 6


def _image_error(exc: UnreadableImage) -> InvalidArgument:
    return InvalidArgument("image", exc.detail, reason=exc.reason)


class FaceData:
    def __init__(self, uow: UnitOfWork, matcher: FaceMatcher, vault: FaceVault, settings: FaceSettings) -> None:
        self._uow = uow
        self._matcher = matcher
        self._vault = vault
        self._settings = settings

    @property
    def threshold(self) -> float:
        return self._settings.threshold

    async def _analyse(self, image: bytes) -> FaceAnalysis:
        try:
            check_upload_size(image, self._settings.limits)
            return await self._matcher.analyse(image)
        except UnreadableImage as exc:
            raise _image_error(exc) from None

    # -- consent -------------------------------------------------------------------------------

    async def record_consent(self, principal: Principal, terms: ConsentTerms) -> ConsentView:
        terms.validate()
        user_id = uuid.UUID(principal.subject)
        consent_id = uuid.uuid4()
        async with self._uow.begin() as tx:
            await self._ensure_trainee(tx, user_id)
            now = tx.now()
            retain_until = terms.retain_until(now)
            await tx.session.execute(
                face_consents.insert().values(
                    id=consent_id,
                    user_id=user_id,
                    purpose=terms.purpose.strip(),
                    retention_days=terms.retention_days,
                    consented_at=now,
                    retain_until=retain_until,
                )
            )
        return ConsentView(consent_id=str(consent_id), consented_at=now, retain_until=retain_until)

    async def _consent_in_force(self, tx: Transaction, user_id: uuid.UUID, *, lock: bool):  # type: ignore[no-untyped-def]
        query = (
            select(face_consents)
            .where(face_consents.c.user_id == user_id)
            .order_by(face_consents.c.consented_at.desc())
            .limit(1)
        )
        if lock:
            query = query.with_for_update(read=True)
        row = (await tx.session.execute(query)).first()
        if row is None or not rules.consent_in_force(row.withdrawn_at, row.retain_until, tx.now()):
            return None
        return row

    # -- enrollment ----------------------------------------------------------------------------

    async def enroll(self, principal: Principal, image: bytes) -> EnrollmentView:
        user_id = uuid.UUID(principal.subject)
        async with self._uow.begin() as tx:
            await self._ensure_trainee(tx, user_id)
            if await self._consent_in_force(tx, user_id, lock=False) is None:
                raise _consent_required()
        analysis = await self._analyse(image)
        rules.ensure_enrollable(analysis, self._matcher.min_face_size)
        assert analysis.embedding is not None
        face = analysis.faces[0]
        async with self._uow.begin() as tx:
            consent = await self._consent_in_force(tx, user_id, lock=True)
            if consent is None:
                raise _consent_required()
            now = tx.now()
            previous = (
                await tx.session.execute(
                    select(face_baselines.c.snapshot_id).where(face_baselines.c.user_id == user_id).with_for_update()
                )
            ).first()
            if previous is not None:
                await tx.session.execute(face_baselines.delete().where(face_baselines.c.user_id == user_id))
                await tx.session.execute(face_snapshots.delete().where(face_snapshots.c.id == previous.snapshot_id))
            snapshot_id = await self._store_snapshot(tx, user_id, "baseline", analysis.snapshot_jpeg)
            await tx.session.execute(
                face_baselines.insert().values(
                    user_id=user_id,
                    model=self._matcher.model,
                    embedding_enc=self._vault.seal_embedding(user_id, self._matcher.model, analysis.embedding),
                    snapshot_id=snapshot_id,
                    consent_id=consent.id,
                    face_width=face.width,
                    face_height=face.height,
                    enrolled_at=now,
                )
            )
            reason = "replaced the baseline" if previous is not None else "first enrollment"
            await self._vault.record_access(tx, principal, user_id, Access.ENROLL, reason, str(snapshot_id))
            await tx.emit(
                Event(
                    FACE_ENROLLED,
                    events.FaceEnrolled(
                        user_id=str(user_id), replaced=previous is not None, enrolled_at=timestamp(now)
                    ),
                    key=str(user_id),
                )
            )
        return EnrollmentView(enrolled_at=now, face_width=face.width, face_height=face.height)

    async def _store_snapshot(self, tx: Transaction, user_id: uuid.UUID, kind: str, jpeg: bytes) -> uuid.UUID:
        snapshot_id = uuid.uuid4()
        await tx.session.execute(
            face_snapshots.insert().values(
                id=snapshot_id,
                user_id=user_id,
                kind=kind,
                image_enc=self._vault.seal_snapshot(snapshot_id, jpeg),
                created_at=tx.now(),
            )
        )
        return snapshot_id

    # -- verification --------------------------------------------------------------------------

    async def verify(
        self, principal: Principal, user_id_text: str, image: bytes, purpose: Purpose | None, context_ref: str
    ) -> FaceCheckView:
        check = Validator()
        user_id = _uuid_field(check, user_id_text, "user_id")
        if purpose is None:
            check.add("purpose", "is required")
        rules.check_context_ref(check, context_ref)
        check.check()
        assert user_id is not None
        assert purpose is not None
        rules.ensure_own_or_service(principal, str(user_id))
        # Analysis first, then one transaction: the baseline, consent and trainee are checked there,
        # under lock. (A look-up before the analysis as well would cost every check a transaction to
        # save work only for callers that ask about trainees without a baseline.)
        started = time.perf_counter()
        try:
            analysis = await self._analyse(image)
        except InvalidArgument:
            elapsed_ms = (time.perf_counter() - started) * 1000
            _verification_ms.record(elapsed_ms, {"purpose": purpose.value, "outcome": "unreadable"})
            raise
        problem = rules.face_problem(analysis, self._matcher.min_face_size)
        threshold = self._settings.threshold
        async with self._uow.begin() as tx:
            baseline = await self._ensure_verifiable(tx, user_id)
            distance = None
            if problem is None:
                assert analysis.embedding is not None
                stored = self._vault.open_embedding(user_id, baseline.model, baseline.embedding_enc)
                distance = self._matcher.distance(stored, analysis.embedding)
            outcome = problem or rules.decide(distance, threshold)  # type: ignore[arg-type]
            now = tx.now()
            check_id = uuid.uuid4()
            snapshot_id = await self._store_snapshot(tx, user_id, "probe", analysis.snapshot_jpeg)
            actor_id, actor_role = actor_of(principal)
            row = {
                "id": check_id,
                "user_id": user_id,
                "purpose": purpose.value,
                "outcome": outcome.value,
                "distance": distance,
                "threshold": threshold,
                "model": self._matcher.model,
                "faces_found": len(analysis.faces),
                "context_ref": context_ref,
                "snapshot_id": snapshot_id,
                "checked_at": now,
                "checked_by": actor_id,
                "checked_by_role": actor_role,
            }
            await tx.session.execute(face_checks.insert().values(**row))
            await append(tx.session, CHAINS, FACE_CHECKS, [check_id], now=now)
            if purpose is not Purpose.SELF_TEST:
                await date_training_check(tx.session, user_id, snapshot_id, self._settings.retention_default_years)
            await self._vault.record_access(tx, principal, user_id, Access.VERIFY, purpose.value, str(check_id))
            await tx.emit(
                Event(
                    FACE_CHECK_RECORDED,
                    events.FaceCheckRecorded(
                        face_check_id=str(check_id),
                        user_id=str(user_id),
                        purpose=purpose_to_proto(purpose),
                        outcome=outcome_to_proto(outcome),
                        distance=distance or 0.0,
                        threshold=threshold,
                        context_ref=context_ref,
                        checked_at=timestamp(now),
                    ),
                    key=str(user_id),
                )
            )
        elapsed_ms = (time.perf_counter() - started) * 1000
        _verification_ms.record(elapsed_ms, {"purpose": purpose.value, "outcome": outcome.value})
        return FaceCheckView(
            face_check_id=str(check_id),
            user_id=str(user_id),
            purpose=purpose,
            outcome=outcome,
            distance=distance,
            threshold=threshold,
            context_ref=context_ref,
            checked_at=now,
            checked_by=actor_id,
            has_snapshot=True,
        )

    async def _ensure_verifiable(self, tx: Transaction, user_id: uuid.UUID):  # type: ignore[no-untyped-def]
        """The trainee's baseline, if a check can be made against it now. One query on the normal
        path (baseline with the latest consent); the reasons for a refusal are looked up after."""
        consent = (
            select(face_consents.c.withdrawn_at, face_consents.c.retain_until)
            .where(face_consents.c.user_id == face_baselines.c.user_id)
            .order_by(face_consents.c.consented_at.desc())
            .limit(1)
            .lateral("consent")
        )
        query = (
            select(face_baselines, consent.c.withdrawn_at, consent.c.retain_until)
            .join(consent, true())
            .where(face_baselines.c.user_id == user_id)
        )
        # A deletion (which locks the baseline for update) waits for this check, or has won.
        baseline = (await tx.session.execute(query.with_for_update(read=True, of=face_baselines))).first()
        if baseline is None:
            await self._ensure_trainee(tx, user_id)
            raise FailedPrecondition(rules.FACE_NOT_ENROLLED, "the trainee has not enrolled a face baseline")
        if baseline.model != self._matcher.model:
            raise FailedPrecondition(
                rules.FACE_REENROLLMENT_REQUIRED,
                "the baseline was made by another face model; the trainee must enroll again",
                metadata={"baseline_model": baseline.model, "current_model": self._matcher.model},
            )
        if not rules.consent_in_force(baseline.withdrawn_at, baseline.retain_until, tx.now()):
            raise _consent_required()
        return baseline

    async def _ensure_trainee(self, tx: Transaction, user_id: uuid.UUID) -> None:
        role = await tx.session.scalar(select(users.c.role).where(users.c.id == user_id))
        if role is None:
            raise NotFound("user", str(user_id))
        if role != Role.TRAINEE.value:
            raise FailedPrecondition(rules.NOT_A_TRAINEE, "face data is kept for trainees only")

    # -- reads ---------------------------------------------------------------------------------

    async def status(self, principal: Principal, user_id_text: str) -> FaceStatusView:
        user_id = parse_uuid(user_id_text, "user_id")
        rules.ensure_own_or_service(principal, str(user_id))
        async with self._uow.begin() as tx:
            await self._ensure_trainee(tx, user_id)
            consent = await self._consent_in_force(tx, user_id, lock=False)
            baseline = (
                await tx.session.execute(
                    select(face_baselines.c.enrolled_at).where(
                        face_baselines.c.user_id == user_id, face_baselines.c.model == self._matcher.model
                    )
                )
            ).first()
        return FaceStatusView(
            consented_at=consent.consented_at if consent else None,
            retain_until=consent.retain_until if consent else None,
            enrolled_at=baseline.enrolled_at if baseline else None,
        )

    async def list_checks(
        self, principal: Principal, user_id_text: str, page_size: int, page_token: str, reason: str
    ) -> tuple[list[FaceCheckView], str]:
        check = Validator()
        user_id = _uuid_field(check, user_id_text, "user_id")
        rules.check_reason(check, reason)
        check.check()
        assert user_id is not None
        rules.ensure_own_or_service(principal, str(user_id))
        page = parse_page(page_size, page_token)
        async with self._uow.begin() as tx:
            await self._ensure_trainee(tx, user_id)
            query = select(face_checks).where(face_checks.c.user_id == user_id)
            if page.after is not None:
                at, after_id = page.after
                query = query.where(
                    (face_checks.c.checked_at < at) | ((face_checks.c.checked_at == at) & (face_checks.c.id < after_id))
                )
            query = query.order_by(face_checks.c.checked_at.desc(), face_checks.c.id.desc()).limit(page.size + 1)
            rows = (await tx.session.execute(query)).all()
            await self._vault.record_access(tx, principal, user_id, Access.LIST_CHECKS, reason.strip())
        more = len(rows) > page.size
        rows = rows[: page.size]
        token = next_token(rows[-1].checked_at, rows[-1].id) if more and rows else ""
        return [check_view(r) for r in rows], token

    async def snapshot(self, principal: Principal, face_check_id: str, reason: str) -> tuple[FaceCheckView, bytes]:
        check = Validator()
        check_id = _uuid_field(check, face_check_id, "face_check_id")
        rules.check_reason(check, reason)
        check.check()
        async with self._uow.begin() as tx:
            row = (await tx.session.execute(select(face_checks).where(face_checks.c.id == check_id))).first()
            if row is None:
                raise NotFound("face check", face_check_id)
            rules.ensure_own_or_service(principal, str(row.user_id))
            if row.snapshot_id is None:
                raise NotFound("snapshot of face check", face_check_id)
            sealed = await tx.session.scalar(
                select(face_snapshots.c.image_enc).where(face_snapshots.c.id == row.snapshot_id)
            )
            await self._vault.record_access(
                tx, principal, row.user_id, Access.READ_SNAPSHOT, reason.strip(), str(row.snapshot_id)
            )
        return check_view(row), self._vault.open_snapshot(row.snapshot_id, sealed)

    # -- deletion ------------------------------------------------------------------------------

    async def delete(self, principal: Principal, user_id_text: str, reason: str) -> DeletionView:
        """All of the trainee's face data, or nothing: refused while a snapshot is under retention."""
        check = Validator()
        user_id = _uuid_field(check, user_id_text, "user_id")
        _check_deletion_reason(check, reason)
        check.check()
        assert user_id is not None
        rules.ensure_may_delete(principal, str(user_id))
        async with self._uow.begin() as tx:
            await self._ensure_trainee(tx, user_id)
            # Locked first: a check dating a new snapshot waits for this decision (it reads the
            # baseline FOR SHARE), so nothing becomes retained between the test and the deletion.
            await self._lock_baseline(tx, user_id)
            retained = await retained_snapshots(tx, user_id, lock=True)
            if retained.count:
                raise retention_not_over(retained)
            deletion = await self._delete(tx, principal, user_id, reason.strip())
        return DeletionView(
            deletion_id=deletion.deletion_id,
            deleted_at=deletion.deleted_at,
            records_deleted=deletion.records_deleted,
            digest=deletion.digest,
        )

    async def withdraw_consent(self, principal: Principal, reason: str) -> FaceDeletion:
        """End face processing: the baseline and every snapshot not under retention go; training
        records under retention stay until the retention job deletes them."""
        check = Validator()
        _check_deletion_reason(check, reason)
        check.check()
        user_id = uuid.UUID(principal.subject)
        async with self._uow.begin() as tx:
            await self._ensure_trainee(tx, user_id)
            await self._lock_baseline(tx, user_id)
            return await self._delete(tx, principal, user_id, reason.strip())

    async def _lock_baseline(self, tx: Transaction, user_id: uuid.UUID) -> None:
        await tx.session.execute(
            select(face_baselines.c.user_id).where(face_baselines.c.user_id == user_id).with_for_update()
        )

    async def _delete(self, tx: Transaction, principal: Principal, user_id: uuid.UUID, reason: str) -> FaceDeletion:
        # The consent ends with the data: enrolling again needs a fresh consent.
        await tx.session.execute(
            update(face_consents)
            .where(face_consents.c.user_id == user_id, face_consents.c.withdrawn_at.is_(None))
            .values(withdrawn_at=tx.now())
        )
        actor_id, actor_role = actor_of(principal)
        deletion = await delete_face_data(
            tx,
            user_id,
            Scope.ALL_BUT_RETAINED,
            actor_id=actor_id,
            actor_role=actor_role,
            actor_role_proto=role_to_proto(principal.role),
            reason=reason,
        )
        await self._vault.record_access(tx, principal, user_id, Access.DELETE, reason, deletion.deletion_id)
        return deletion


def _check_deletion_reason(check: Validator, reason: str) -> None:
    if check.require(reason.strip(), "reason") and len(reason) > rules.MAX_REASON_LENGTH:
        check.add("reason", f"must be at most {rules.MAX_REASON_LENGTH} characters")


def _uuid_field(check: Validator, value: str, field: str) -> uuid.UUID | None:
    try:
        return parse_uuid(value, field)
    except InvalidArgument as exc:
        check.violations.extend(exc.violations)
        return None


def _consent_required() -> FailedPrecondition:
    return FailedPrecondition(
        rules.FACE_CONSENT_REQUIRED, "the trainee's consent to face processing is not on record (or has ended)"
    )
