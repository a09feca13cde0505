"""Reading and amending the record: progress, the explanation of every interval, anomalies and their
review, corrections and invalidations. Each amendment is a new ledger entry; nothing is edited."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from training.learning.v1 import learning_events_pb2 as events
from training_events import Event
from training_learning.app.ledger import Ledger, topic_totals
from training_learning.app.views import AnomalyView, LessonView, ListPage, ProgressView, TopicView
from training_learning.chains import CHAINS, LEDGER
from training_learning.domain.reasons import Reason
from training_learning.persistence.tables import (
    anomalies,
    class_lessons,
    classes,
    enrollments,
    face_checks,
    ledger_entries,
    lesson_progress,
    study_sessions,
    withdrawn_courses,
)
from training_records import lock_chain
from training_rulebook import Rulebook, RulebookSet
from training_runtime.auth.commands import is_regulator_command
from training_runtime.auth.principal import INSTITUTION_ROLES, Principal, Role, region_prefix
from training_runtime.db import UnitOfWork
from training_runtime.errors import FailedPrecondition, NotFound, Validator
from training_runtime.paging import next_token, parse_page, parse_uuid
from training_runtime.protoconv import role_to_proto, timestamp

HOURS_INVALIDATED = "training.learning.hours.invalidated.v1"
MAX_ENTRY_IDS = 1000


def may_read(actor: Principal, e: Any) -> bool:
    """Own record, own institution, own region, own staff, or a platform service."""
    if actor.role is Role.TRAINEE:
        return str(e.trainee_id) == actor.subject
    if actor.role in INSTITUTION_ROLES:
        return str(e.institution_id) == actor.institution_id
    if actor.role is Role.REGULATOR:
        return actor.covers_region(e.region_code)
    if actor.role is Role.EMPLOYER:
        return bool(actor.employer_code) and e.employer_credit_code == actor.employer_code
    return actor.role is Role.SERVICE


def may_amend(actor: Principal, e: Any) -> bool:
    if actor.role in INSTITUTION_ROLES:
        return str(e.institution_id) == actor.institution_id
    if actor.role is Role.REGULATOR:
        return actor.covers_region(e.region_code)
    return False


def _reason(check: Validator, reason: str, field: str = "reason") -> str:
    reason = reason.strip()
    if not 2 <= len(reason) <= 500:
        check.add(field, "must be 2 to 500 characters")
    return reason


def _anomaly_view(row: Any) -> AnomalyView:
    return AnomalyView(
        anomaly_id=str(row.id),
        kind=row.kind,
        status=row.status,
        enrollment_id=str(row.enrollment_id),
        trainee_id=str(row.trainee_id),
        class_id=str(row.class_id),
        institution_id=str(row.institution_id),
        region_code=row.region_code,
        face_check_ids=list(row.face_check_ids),
        raised_at=row.raised_at,
        reviewed_by=row.reviewed_by or "",
        reviewed_at=row.reviewed_at,
        review_comment=row.review_comment or "",
    )


class Records:
    def __init__(self, uow: UnitOfWork, rulebooks: RulebookSet) -> None:
        self._uow = uow
        self._rulebooks = rulebooks

    async def _enrollment(self, session: Any, actor: Principal, enrollment_id: str, *, lock: bool = False) -> Any:
        eid = parse_uuid(enrollment_id, "enrollment_id")
        query = (
            select(
                enrollments,
                classes.c.rulebook_version,
                classes.c.qualification_type,
                classes.c.operation_type,
                classes.c.training_kind,
            )
            .select_from(enrollments.join(classes, classes.c.id == enrollments.c.class_id))
            .where(enrollments.c.id == eid)
        )
        row = (await session.execute(query.with_for_update(of=enrollments) if lock else query)).one_or_none()
        if row is None or not may_read(actor, row):
            raise NotFound("enrollment", enrollment_id)
        return row

    async def progress_of(self, session: Any, e: Any) -> ProgressView:
        rules = self._rulebooks.version(e.rulebook_version)
        topics = await topic_totals(session, e.id, e.class_id)
        lessons = (
            await session.execute(
                select(
                    class_lessons,
                    func.coalesce(lesson_progress.c.credited_seconds, 0.0).label("credited"),
                    func.coalesce(lesson_progress.c.furthest_position, 0.0).label("furthest"),
                    lesson_progress.c.finished_at,
                    withdrawn_courses.c.course_id.label("withdrawn"),
                )
                .select_from(
                    class_lessons.outerjoin(
                        lesson_progress,
                        and_(
                            lesson_progress.c.lesson_id == class_lessons.c.lesson_id,
                            lesson_progress.c.enrollment_id == e.id,
                        ),
                    ).outerjoin(withdrawn_courses, withdrawn_courses.c.course_id == class_lessons.c.course_id)
                )
                .where(class_lessons.c.class_id == e.class_id)
                .order_by(class_lessons.c.course_id, class_lessons.c.position)
            )
        ).all()
        total = sum(t.credited_seconds for t in topics)
        state = "frozen" if e.frozen else "completed" if e.completed_at else "studying"
        return ProgressView(
            enrollment_id=str(e.id),
            class_id=str(e.class_id),
            trainee_id=str(e.trainee_id),
            institution_id=str(e.institution_id),
            state=state,
            rulebook_version=rules.version,
            class_hour_seconds=rules.class_hour_seconds,
            credited_hours=rules.seconds_to_hours(total),
            required_hours=sum(t.required_hours for t in topics),
            topics=[
                TopicView(
                    topic_id=str(t.topic_id),
                    code=t.code,
                    required_hours=t.required_hours,
                    credited_seconds=t.credited_seconds,
                    credited_hours=rules.seconds_to_hours(t.credited_seconds),
                    met=rules.topic_complete(t.credited_seconds, t.required_hours),
                )
                for t in topics
            ],
            lessons=[
                LessonView(
                    lesson_id=str(lesson.lesson_id),
                    course_id=str(lesson.course_id),
                    topic_id=str(lesson.topic_id),
                    duration_seconds=lesson.duration_seconds,
                    credited_seconds=lesson.credited,
                    furthest_position=lesson.furthest,
                    finished=lesson.finished_at is not None,
                    withdrawn=lesson.withdrawn is not None,
                )
                for lesson in lessons
            ],
            completed_at=e.completed_at,
        )

    async def progress(self, actor: Principal, enrollment_id: str) -> ProgressView:
        async with self._uow.read() as session:
            e = await self._enrollment(session, actor, enrollment_id)
            return await self.progress_of(session, e)

    async def explain(
        self, actor: Principal, enrollment_id: str, *, page_size: int, page_token: str
    ) -> tuple[ProgressView, list[Any], str]:
        page = parse_page(page_size, page_token)
        async with self._uow.read() as session:
            e = await self._enrollment(session, actor, enrollment_id)
            progress = await self.progress_of(session, e)
            query = select(ledger_entries).where(ledger_entries.c.enrollment_id == e.id)
            if page.after is not None:
                # The keyset's second part carries the sequence (as a UUID's integer) for this listing.
                query = query.where(ledger_entries.c.sequence > page.after[1].int)
            rows = (await session.execute(query.order_by(ledger_entries.c.sequence).limit(page.size + 1))).all()
        more = len(rows) > page.size
        rows = rows[: page.size]
        token = next_token(rows[-1].recorded_at, uuid.UUID(int=rows[-1].sequence)) if more and rows else ""
        return progress, rows, token

    async def study_records(self, actor: Principal, enrollment_id: str) -> tuple[list[Any], list[Any]]:
        """The enrollment's study sessions and study face checks, oldest first (the same readers as progress)."""
        async with self._uow.read() as session:
            e = await self._enrollment(session, actor, enrollment_id)
            sessions = (
                await session.execute(
                    select(study_sessions)
                    .where(study_sessions.c.enrollment_id == e.id)
                    .order_by(study_sessions.c.started_at, study_sessions.c.id)
                )
            ).all()
            checks = (
                await session.execute(
                    select(face_checks)
                    .where(face_checks.c.enrollment_id == e.id)
                    .order_by(face_checks.c.checked_at, face_checks.c.id)
                )
            ).all()
        return sessions, checks

    async def list_anomalies(
        self, actor: Principal, *, page_size: int, page_token: str, status: str | None
    ) -> ListPage[AnomalyView]:
        page = parse_page(page_size, page_token)
        query = select(anomalies)
        if actor.role in INSTITUTION_ROLES:
            query = query.where(anomalies.c.institution_id == parse_uuid(actor.institution_id or "", "institution_id"))
        else:
            query = query.where(anomalies.c.region_code.startswith(region_prefix(actor.region_code or "000000")))
        if status:
            query = query.where(anomalies.c.status == status)
        if page.after is not None:
            raised, last = page.after
            query = query.where(
                or_(anomalies.c.raised_at < raised, and_(anomalies.c.raised_at == raised, anomalies.c.id < last))
            )
        query = query.order_by(anomalies.c.raised_at.desc(), anomalies.c.id.desc()).limit(page.size + 1)
        async with self._uow.read() as session:
            rows = (await session.execute(query)).all()
        more = len(rows) > page.size
        rows = rows[: page.size]
        return ListPage(
            items=[_anomaly_view(r) for r in rows],
            next_page_token=next_token(rows[-1].raised_at, rows[-1].id) if more and rows else "",
        )

    async def review_anomaly(
        self, actor: Principal, anomaly_id: str, *, confirm: bool | None, comment: str
    ) -> AnomalyView:
        check = Validator()
        aid = None
        try:
            aid = uuid.UUID(anomaly_id)
        except ValueError:
            check.add("anomaly_id", "must be a UUID" if anomaly_id else "is required")
        if confirm is None:
            check.add("decision", "must be CLEAR or CONFIRM")
        comment = _reason(check, comment, "comment")
        check.check()
        async with self._uow.begin() as tx:
            # The ledger chain first: appends lock its head, so take it before any row it waits on.
            await lock_chain(tx.session, CHAINS, LEDGER)
            row = (
                await tx.session.execute(select(anomalies).where(anomalies.c.id == aid).with_for_update())
            ).one_or_none()
            if row is None or not (actor.role in INSTITUTION_ROLES and str(row.institution_id) == actor.institution_id):
                raise NotFound("anomaly", anomaly_id)
            if row.status != "open":
                raise FailedPrecondition("ANOMALY_ALREADY_REVIEWED", f"the anomaly was already {row.status}")
            now = tx.now()
            e = await self._enrollment(tx.session, actor, str(row.enrollment_id), lock=True)
            ledger = Ledger(tx.session, now, tx.emit)
            if confirm:
                await self._invalidate(
                    ledger, actor, e, entry_ids=[], reason=comment, kind_reason=Reason.PROXY_LEARNING_CONFIRMED
                )
            await tx.session.execute(
                update(anomalies)
                .where(anomalies.c.id == aid)
                .values(
                    status="confirmed" if confirm else "cleared",
                    reviewed_by=actor.subject,
                    reviewed_role=actor.role.value,
                    reviewed_at=now,
                    review_comment=comment,
                )
            )
            await tx.session.execute(update(enrollments).where(enrollments.c.id == e.id).values(frozen=False))
            if not confirm:
                # Hours were held back while frozen; a cleared anomaly lets completion happen now.
                e = await self._enrollment(tx.session, actor, str(row.enrollment_id))
                await ledger.maybe_complete(e, self._rulebooks.version(e.rulebook_version))
            row = (await tx.session.execute(select(anomalies).where(anomalies.c.id == aid))).one()
        return _anomaly_view(row)

    async def correct(
        self, actor: Principal, enrollment_id: str, lesson_id: str, seconds: float, reason: str
    ) -> tuple[Any, ProgressView]:
        check = Validator()
        lid = None
        try:
            lid = uuid.UUID(lesson_id)
        except ValueError:
            check.add("lesson_id", "must be a UUID" if lesson_id else "is required")
        if seconds == 0 or abs(seconds) > 24 * 3600:
            check.add("seconds", "must be non-zero and at most a day either way")
        reason = _reason(check, reason)
        check.check()
        async with self._uow.begin() as tx:
            # The ledger chain first: appends lock its head, so take it before any row it waits on.
            await lock_chain(tx.session, CHAINS, LEDGER)
            e = await self._enrollment(tx.session, actor, enrollment_id, lock=True)
            if not may_amend(actor, e):
                raise NotFound("enrollment", enrollment_id)
            if e.frozen:
                raise FailedPrecondition("HOURS_FROZEN", "review the open anomaly before correcting hours")
            lesson = (
                await tx.session.execute(
                    select(class_lessons).where(
                        class_lessons.c.class_id == e.class_id, class_lessons.c.lesson_id == lid
                    )
                )
            ).one_or_none()
            if lesson is None:
                raise NotFound("lesson of this enrollment's class", lesson_id)
            now = tx.now()
            rules = self._rulebooks.version(e.rulebook_version)
            ledger = Ledger(tx.session, now, tx.emit)
            progress = await ledger.lesson_progress(e.id, lid, lock=True)
            before = progress.credited_seconds
            after = before + seconds
            if after < -1e-9 or after > lesson.duration_seconds + 1e-9:
                raise FailedPrecondition(
                    "CORRECTION_OUT_OF_RANGE",
                    f"the lesson would have {after:.0f} s credited; it must stay within 0 and "
                    f"{lesson.duration_seconds} s",
                )
            entry = {
                "id": uuid.uuid4(),
                "kind": "CORRECTION",
                "enrollment_id": e.id,
                "trainee_id": e.trainee_id,
                "lesson_id": lid,
                "topic_id": lesson.topic_id,
                "course_id": lesson.course_id,
                "credited_seconds": seconds,
                "interval_seconds": 0.0,
                "reason": Reason.MANUAL_CORRECTION.value,
                "rulebook_version": rules.version,
                "actor_id": actor.subject,
                "actor_role": actor.role.value,
                "comment": reason,
                "before_seconds": before,
                "after_seconds": after,
                "recorded_at": now,
            }
            await ledger.record([entry])
            await ledger.add_to_progress(e.id, lid, lesson.topic_id, seconds)
            if seconds > 0:
                await ledger.emit_credited(entry, rules, kind="CORRECTION")
                await ledger.maybe_complete(e, rules)
            else:
                await self._emit_invalidated(
                    ledger, actor, e, rules, entries=[entry], taken_back=[], seconds=-seconds, reason=reason
                )
            row = (await tx.session.execute(select(ledger_entries).where(ledger_entries.c.id == entry["id"]))).one()
            e = await self._enrollment(tx.session, actor, enrollment_id)
            view = await self.progress_of(tx.session, e)
        return row, view

    async def invalidate(
        self, actor: Principal, enrollment_id: str, entry_ids: list[str], reason: str
    ) -> tuple[list[Any], ProgressView]:
        check = Validator()
        ids: list[uuid.UUID] = []
        if not check.within(entry_ids, "entry_ids", MAX_ENTRY_IDS):
            check.check()
        for i, value in enumerate(entry_ids):
            try:
                ids.append(uuid.UUID(value))
            except ValueError:
                check.add(f"entry_ids[{i}]", "must be a UUID")
        reason = _reason(check, reason)
        check.check()
        async with self._uow.begin() as tx:
            # The ledger chain first: appends lock its head, so take it before any row it waits on.
            await lock_chain(tx.session, CHAINS, LEDGER)
            e = await self._enrollment(tx.session, actor, enrollment_id, lock=True)
            if not may_amend(actor, e):
                raise NotFound("enrollment", enrollment_id)
            ledger = Ledger(tx.session, tx.now(), tx.emit)
            rows = await self._applied_by(tx.session, e, actor) if is_regulator_command(actor) else []
            if not rows:  # unless this repeats the command that made them, take the credit back
                rows = await self._invalidate(
                    ledger, actor, e, entry_ids=ids, reason=reason, kind_reason=Reason.INVALIDATED
                )
            e = await self._enrollment(tx.session, actor, enrollment_id)
            view = await self.progress_of(tx.session, e)
        return rows, view

    @staticmethod
    async def _applied_by(session: Any, e: Any, actor: Principal) -> list[Any]:
        """The invalidation entries this regulator command recorded for the enrollment (a repeat)."""
        return list(
            (
                await session.execute(
                    select(ledger_entries)
                    .where(
                        ledger_entries.c.enrollment_id == e.id,
                        ledger_entries.c.kind == "INVALIDATION",
                        ledger_entries.c.actor_id == actor.subject,
                    )
                    .order_by(ledger_entries.c.sequence)
                )
            ).all()
        )

    async def _invalidate(
        self, ledger: Ledger, actor: Principal, e: Any, *, entry_ids: list[uuid.UUID], reason: str, kind_reason: Reason
    ) -> list[Any]:
        """Take back credit entries (all of the enrollment's, or the named ones) not taken back yet."""
        taken = select(ledger_entries.c.corrects_entry_id).where(ledger_entries.c.corrects_entry_id.is_not(None))
        query = select(ledger_entries).where(
            ledger_entries.c.enrollment_id == e.id,
            ledger_entries.c.kind.in_(("CREDIT", "CORRECTION")),
            ledger_entries.c.credited_seconds > 0,
            ledger_entries.c.id.not_in(taken),
        )
        if entry_ids:
            query = query.where(ledger_entries.c.id.in_(entry_ids))
        targets = (await ledger.session.execute(query.order_by(ledger_entries.c.sequence))).all()
        if entry_ids and len(targets) != len(set(entry_ids)):
            found = {t.id for t in targets}
            missing = [str(i) for i in entry_ids if i not in found]
            raise FailedPrecondition(
                "ENTRY_NOT_INVALIDATABLE",
                "these entries are not credited entries of the enrollment, or were taken back already: "
                + ", ".join(missing),
            )
        rules = self._rulebooks.version(e.rulebook_version)
        new_rows = []
        for t in targets:
            progress = await ledger.lesson_progress(e.id, t.lesson_id, lock=True)
            entry = {
                "id": uuid.uuid4(),
                "kind": "INVALIDATION",
                "enrollment_id": e.id,
                "trainee_id": e.trainee_id,
                "lesson_id": t.lesson_id,
                "topic_id": t.topic_id,
                "course_id": t.course_id,
                "credited_seconds": -t.credited_seconds,
                "interval_seconds": t.interval_seconds,
                "interval_start": t.interval_start,
                "interval_end": t.interval_end,
                "position_from": t.position_from,
                "position_to": t.position_to,
                "reason": kind_reason.value,
                "rulebook_version": rules.version,
                "session_id": t.session_id,
                "device_id": t.device_id,
                "first_seq": t.first_seq,
                "last_seq": t.last_seq,
                "opening_face_check_id": t.opening_face_check_id,
                "closing_face_check_id": t.closing_face_check_id,
                "actor_id": actor.subject,
                "actor_role": actor.role.value,
                "comment": reason,
                "before_seconds": progress.credited_seconds,
                "after_seconds": progress.credited_seconds - t.credited_seconds,
                "corrects_entry_id": t.id,
                "recorded_at": ledger.now,
            }
            await ledger.record([entry])
            await ledger.add_to_progress(e.id, t.lesson_id, t.topic_id, -t.credited_seconds)
            new_rows.append(entry)
        if new_rows:
            await self._emit_invalidated(
                ledger,
                actor,
                e,
                rules,
                entries=new_rows,
                taken_back=[str(t.id) for t in targets],
                seconds=sum(t.credited_seconds for t in targets),
                reason=reason,
            )
        ids = [r["id"] for r in new_rows]
        if not ids:
            return []
        return list(
            (
                await ledger.session.execute(
                    select(ledger_entries).where(ledger_entries.c.id.in_(ids)).order_by(ledger_entries.c.sequence)
                )
            ).all()
        )

    async def _emit_invalidated(
        self,
        ledger: Ledger,
        actor: Principal,
        e: Any,
        rules: Rulebook,
        *,
        entries: list[dict[str, Any]],
        taken_back: list[str],
        seconds: float,
        reason: str,
    ) -> None:
        topics = await ledger.topic_totals(e.id, e.class_id)
        remaining = sum(t.credited_seconds for t in topics)
        met = bool(topics) and all(rules.topic_complete(t.credited_seconds, t.required_hours) for t in topics)
        await ledger.emit(
            Event(
                subject=HOURS_INVALIDATED,
                key=str(e.id),
                occurred_at=ledger.now,
                message=events.HoursInvalidated(
                    enrollment_id=str(e.id),
                    class_id=str(e.class_id),
                    trainee_id=str(e.trainee_id),
                    institution_id=str(e.institution_id),
                    region_code=e.region_code,
                    entry_ids=[str(r["id"]) for r in entries],
                    invalidated_entry_ids=taken_back,
                    invalidated_seconds=seconds,
                    invalidated_hours=rules.seconds_to_hours(seconds),
                    remaining_hours=rules.seconds_to_hours(remaining),
                    requirements_met=met,
                    reason=reason,
                    actor_id=actor.subject,
                    actor_role=role_to_proto(actor.role),
                    invalidated_at=timestamp(ledger.now),
                    rulebook_version=rules.version,
                ),
            )
        )
