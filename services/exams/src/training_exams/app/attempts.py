"""Attempts: start (or resume), save answers, page leaves, submit, read.

Built for a whole class starting at the same minute. A start reads the cached exam and bank
snapshot, assembles the paper in memory from a fresh seed, and costs the database one read (the
trainee's enrollment and attempts) and one insert; the paper goes back with the response and into
the cache. A saved answer is one upsert. The face check at start, when the exam asks for one, is a
call to identity made before any transaction opens.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ARRAY, SmallInteger, func, literal, select
from sqlalchemy.dialects.postgresql import insert

from training_exams.app.catalogue import AttemptPaper, Catalogue, ExamDefinition, paper_to_json
from training_exams.app.exams import new_seed
from training_exams.app.pages import ListPage, cut, newest_first
from training_exams.app.scope import attempts_visible, sees_attempt
from training_exams.app.submission import GRADED, IN_PROGRESS, Cause, answers_of, close_attempt, lock_attempt
from training_exams.app.views import AnswerView, AttemptView, PaperView, attempt_view, paper_view
from training_exams.domain.exam import ExamKind
from training_exams.domain.grading import judge, selection_problem
from training_exams.domain.paper import assemble
from training_exams.persistence.tables import attempt_answers, attempts, enrollments, face_checks, page_leaves
from training_runtime.auth import Principal
from training_runtime.clock import Clock
from training_runtime.db import UnitOfWork
from training_runtime.errors import Aborted, FailedPrecondition, InvalidArgument, NotFound, Validator
from training_runtime.faces import FaceResult, FaceVerifier
from training_runtime.paging import parse_page, parse_uuid

MAX_IMAGE_BYTES = 3 * 1024 * 1024
MAX_REVISION = 2**62


@dataclass(frozen=True)
class StartResult:
    attempt: AttemptView
    paper: PaperView
    answers: list[AnswerView]
    resumed: bool


@dataclass(frozen=True)
class AttemptDetail:
    attempt: AttemptView
    paper: PaperView
    answers: list[AnswerView]


@dataclass(frozen=True)
class LeaveResult:
    attempt: AttemptView
    submitted: bool


def _selection(values: Sequence[int]) -> tuple[int, ...]:
    return tuple(int(v) for v in values)


class Attempts:
    def __init__(self, uow: UnitOfWork, clock: Clock, catalogue: Catalogue, faces: FaceVerifier) -> None:
        self._uow = uow
        self._clock = clock
        self._catalogue = catalogue
        self._faces = faces

    # -- reading ---------------------------------------------------------------------------

    async def _exam(self, exam_id: uuid.UUID) -> ExamDefinition:
        exam = await self._catalogue.exam(exam_id)
        assert exam is not None, f"exam {exam_id} of an attempt is gone"
        return exam

    async def _view(self, row: Any, answered: int = 0) -> AttemptView:
        exam = await self._exam(row.exam_id)
        return attempt_view(row, bank_version=exam.bank_version, class_topics=exam.class_topics, answered=answered)

    async def _answers(
        self, row: Any, stored: dict[int, tuple[int, ...]], revisions: dict[int, int]
    ) -> list[AnswerView]:
        exam = await self._exam(row.exam_id)
        paper = await self._paper(row.id)
        snapshot = await self._catalogue.snapshot(paper.bank_version_id)
        views = []
        for position, selected in sorted(stored.items()):
            verdict = None
            if exam.kind is ExamKind.PRACTICE:
                item = paper.items[position]
                verdict = judge(snapshot.by_key[item.question], item.order, selected)
            views.append(AnswerView(position, selected, revisions[position], verdict))
        return views

    async def _paper(self, attempt_id: uuid.UUID) -> AttemptPaper:
        paper = await self._catalogue.paper(attempt_id)
        assert paper is not None, f"attempt {attempt_id} has no paper"
        return paper

    async def _detail(self, session: Any, row: Any) -> AttemptDetail:
        found = (
            await session.execute(
                select(attempt_answers.c.position, attempt_answers.c.selected, attempt_answers.c.revision).where(
                    attempt_answers.c.attempt_id == row.id
                )
            )
        ).all()
        stored = {r.position: tuple(r.selected) for r in found}
        revisions = {r.position: r.revision for r in found}
        paper = await self._paper(row.id)
        snapshot = await self._catalogue.snapshot(paper.bank_version_id)
        return AttemptDetail(
            attempt=await self._view(row, answered=sum(1 for s in stored.values() if s)),
            paper=paper_view(paper.items, snapshot),
            answers=await self._answers(row, stored, revisions),
        )

    async def get(self, actor: Principal, attempt_id: str) -> AttemptDetail:
        aid = parse_uuid(attempt_id, "attempt_id")
        async with self._uow.read() as session:
            row = (await session.execute(select(attempts).where(attempts.c.id == aid))).one_or_none()
            if row is None or not sees_attempt(actor, row):
                raise NotFound("attempt", attempt_id)
            return await self._detail(session, row)

    async def list(
        self, actor: Principal, page_size: int, page_token: str, *, exam_id: str, class_id: str, trainee_id: str
    ) -> ListPage[AttemptView]:
        page = parse_page(page_size, page_token)
        answered = (
            select(func.count())
            .select_from(attempt_answers)
            .where(attempt_answers.c.attempt_id == attempts.c.id, func.cardinality(attempt_answers.c.selected) > 0)
            .scalar_subquery()
        )
        query = select(attempts, answered.label("live_answered")).where(attempts_visible(actor))
        if exam_id:
            query = query.where(attempts.c.exam_id == parse_uuid(exam_id, "exam_id"))
        if class_id:
            query = query.where(attempts.c.class_id == parse_uuid(class_id, "class_id"))
        if trainee_id:
            query = query.where(attempts.c.trainee_id == parse_uuid(trainee_id, "trainee_id"))
        async with self._uow.read() as session:
            rows = (await session.execute(newest_first(query, attempts.c.started_at, attempts.c.id, page))).all()
        shown, token = cut(rows, page, "started_at")
        return ListPage([await self._view(r, r.live_answered) for r in shown], token)

    # -- starting --------------------------------------------------------------------------

    async def start(self, actor: Principal, exam_id: str, image: bytes) -> StartResult:
        eid = parse_uuid(exam_id, "exam_id")
        me = uuid.UUID(actor.subject)
        exam = await self._catalogue.exam(eid)
        if exam is None:
            raise NotFound("exam", exam_id)
        if exam.face_check_at_start:
            if not image:
                raise InvalidArgument("face_image", "is required: this exam checks the trainee's face at start")
            if len(image) > MAX_IMAGE_BYTES:
                raise InvalidArgument("face_image", f"must be at most {MAX_IMAGE_BYTES} bytes")
        for _ in range(3):
            started = await self._try_start(exam, me, image)
            if started is not None:
                return started
        raise Aborted("the attempt changed while it was being started; retry")

    async def _eligibility(self, exam: ExamDefinition, me: uuid.UUID) -> Any:
        mine = (attempts.c.exam_id == exam.exam_id) & (attempts.c.trainee_id == me)
        open_attempt = select(attempts.c.id).where(mine, attempts.c.status == IN_PROGRESS).scalar_subquery()
        taken = select(func.count()).select_from(attempts).where(mine).scalar_subquery()
        async with self._uow.read() as session:
            return (
                await session.execute(
                    select(
                        enrollments.c.id,
                        enrollments.c.completed_at,
                        enrollments.c.employer_credit_code,
                        open_attempt.label("open_id"),
                        taken.label("taken"),
                    )
                    .where(enrollments.c.class_id == exam.class_id, enrollments.c.trainee_id == me)
                    .limit(1)
                )
            ).one_or_none()

    async def _try_start(self, exam: ExamDefinition, me: uuid.UUID, image: bytes) -> StartResult | None:
        """One try: None when a concurrent change (another start, the deadline) means trying again."""
        found = await self._eligibility(exam, me)
        if found is None:
            raise NotFound("exam", str(exam.exam_id))  # not the caller's class
        if exam.kind is ExamKind.FINAL and found.completed_at is None:
            raise FailedPrecondition(
                "CLASS_NOT_COMPLETED", "the final exam opens once the class's training hours are complete"
            )
        if found.open_id is None and exam.max_attempts and found.taken >= exam.max_attempts:
            raise FailedPrecondition(
                "ATTEMPTS_EXHAUSTED",
                f"all {exam.max_attempts} attempts at this exam are used",
                metadata={"max_attempts": str(exam.max_attempts)},
            )
        attempt_id = found.open_id or uuid.uuid4()
        face = await self._check_face(exam, me, attempt_id, image)
        if found.open_id is not None:
            return await self._resume(exam, found.open_id, face)
        return await self._begin(exam, me, found, attempt_id, face)

    async def _check_face(
        self, exam: ExamDefinition, me: uuid.UUID, attempt_id: uuid.UUID, image: bytes
    ) -> FaceResult | None:
        if not exam.face_check_at_start:
            return None
        result = await self._faces.verify(
            str(me), image, purpose="exam_start", context_ref=f"exam-attempt:{attempt_id}"
        )
        if not result.passed:
            async with self._uow.begin() as tx:
                await self._record_face(tx.session, exam, me, None, result, tx.now())
            raise FailedPrecondition(
                "FACE_CHECK_FAILED",
                f"the start face check failed ({result.outcome})",
                metadata={"face_check_id": result.face_check_id, "outcome": result.outcome},
            )
        return result

    @staticmethod
    async def _record_face(
        session: Any,
        exam: ExamDefinition,
        me: uuid.UUID,
        attempt_id: uuid.UUID | None,
        result: FaceResult,
        now: datetime,
    ) -> None:
        await session.execute(
            insert(face_checks)
            .values(
                face_check_id=result.face_check_id,
                exam_id=exam.exam_id,
                trainee_id=me,
                attempt_id=attempt_id,
                outcome=result.outcome,
                passed=result.passed,
                checked_at=now,
            )
            .on_conflict_do_nothing()
        )

    async def _begin(
        self, exam: ExamDefinition, me: uuid.UUID, found: Any, attempt_id: uuid.UUID, face: FaceResult | None
    ) -> StartResult | None:
        snapshot = await self._catalogue.snapshot(exam.bank_version_id)
        seed = new_seed()
        items = assemble(snapshot, exam.sections, seed)
        async with self._uow.begin() as tx:
            now = tx.now()
            row = (
                await tx.session.execute(
                    insert(attempts)
                    .values(
                        id=attempt_id,
                        exam_id=exam.exam_id,
                        class_id=exam.class_id,
                        enrollment_id=found.id,
                        trainee_id=me,
                        institution_id=exam.institution_id,
                        region_code=exam.region_code,
                        employer_credit_code=found.employer_credit_code,
                        kind=exam.kind.value,
                        number=found.taken + 1,
                        status=IN_PROGRESS,
                        seed=seed,
                        paper=paper_to_json(items),
                        bank_version_id=exam.bank_version_id,
                        started_at=now,
                        deadline=now + timedelta(seconds=exam.time_limit_seconds),
                        start_face_check_id=face.face_check_id if face else "",
                        page_leaves=0,
                        max_points=exam.max_points,
                        pass_mark=exam.pass_mark,
                    )
                    .on_conflict_do_nothing()
                    .returning(*attempts.c)
                )
            ).one_or_none()
            if row is None:
                return None  # a concurrent start won: the next try resumes its attempt
            if face is not None:
                await self._record_face(tx.session, exam, me, attempt_id, face, now)
        self._catalogue.remember_paper(AttemptPaper(attempt_id, exam.exam_id, me, exam.bank_version_id, items))
        return StartResult(await self._view(row), paper_view(items, snapshot), [], resumed=False)

    async def _resume(self, exam: ExamDefinition, attempt_id: uuid.UUID, face: FaceResult | None) -> StartResult | None:
        async with self._uow.begin() as tx:
            row = await lock_attempt(tx.session, attempt_id)
            if row is None or row.status != IN_PROGRESS:
                return None
            now = tx.now()
            if face is not None:
                await self._record_face(tx.session, exam, row.trainee_id, attempt_id, face, now)
            if now >= row.deadline:
                await close_attempt(tx.session, tx.emit, self._catalogue, row, Cause.DEADLINE, now)
                return None  # closed for its deadline: the next try starts a new attempt if one is left
            detail = await self._detail(tx.session, row)
        return StartResult(detail.attempt, detail.paper, detail.answers, resumed=True)

    # -- answering -------------------------------------------------------------------------

    async def save_answer(
        self, actor: Principal, attempt_id: str, position: int, selected: Sequence[int], revision: int
    ) -> tuple[AnswerView, bool]:
        check = Validator()
        aid = None
        try:
            aid = uuid.UUID(attempt_id)
        except ValueError:
            check.add("attempt_id", "must be a UUID" if attempt_id else "is required")
        if not 1 <= revision <= MAX_REVISION:
            check.add("revision", f"must be 1 to {MAX_REVISION} and grow with every change of this answer")
        if position < 0:
            check.add("position", "must be a position on the paper (from 0)")
        check.check()
        assert aid is not None
        paper = await self._catalogue.paper(aid)
        if paper is None or str(paper.trainee_id) != actor.subject:
            raise NotFound("attempt", attempt_id)
        if position >= len(paper.items):
            raise InvalidArgument("position", f"must be 0 to {len(paper.items) - 1}")
        item = paper.items[position]
        snapshot = await self._catalogue.snapshot(paper.bank_version_id)
        question = snapshot.by_key[item.question]
        chosen = _selection(selected)
        problem = selection_problem(question, chosen)
        if problem is not None:
            raise InvalidArgument("selected", problem)
        exam = await self._exam(paper.exam_id)
        now = self._clock.now()
        source = (
            select(
                literal(aid),
                literal(position, SmallInteger),
                literal(list(chosen), ARRAY(SmallInteger)),
                literal(revision),
                literal(now),
            )
            .select_from(attempts)
            .where(attempts.c.id == aid, attempts.c.status == IN_PROGRESS, attempts.c.deadline > now)
            .with_for_update(read=True)
        )
        statement = insert(attempt_answers).from_select(
            ["attempt_id", "position", "selected", "revision", "saved_at"], source
        )
        statement = statement.on_conflict_do_update(
            index_elements=[attempt_answers.c.attempt_id, attempt_answers.c.position],
            set_={
                "selected": statement.excluded.selected,
                "revision": statement.excluded.revision,
                "saved_at": statement.excluded.saved_at,
            },
            where=attempt_answers.c.revision < statement.excluded.revision,
        ).returning(attempt_answers.c.selected, attempt_answers.c.revision)
        async with self._uow.begin() as tx:
            saved = (await tx.session.execute(statement)).one_or_none()
            if saved is None:
                saved = await self._why_not_saved(tx.session, aid, position, now)
                applied = False
            else:
                applied = True
        stored = tuple(saved.selected)
        verdict = judge(question, item.order, stored) if exam.kind is ExamKind.PRACTICE else None
        return AnswerView(position, stored, saved.revision, verdict), applied

    @staticmethod
    async def _why_not_saved(session: Any, attempt_id: uuid.UUID, position: int, now: datetime) -> Any:
        """After a save changed nothing: the stored newer answer, or why the attempt takes no answers."""
        row = (
            await session.execute(select(attempts.c.status, attempts.c.deadline).where(attempts.c.id == attempt_id))
        ).one()
        if row.status != IN_PROGRESS:
            raise FailedPrecondition("ATTEMPT_CLOSED", "the attempt was submitted; answers can no longer change")
        if now >= row.deadline:
            raise FailedPrecondition(
                "ATTEMPT_DEADLINE_PASSED", "the attempt's time is up; it is being submitted with the answers saved"
            )
        return (
            await session.execute(
                select(attempt_answers.c.selected, attempt_answers.c.revision).where(
                    attempt_answers.c.attempt_id == attempt_id, attempt_answers.c.position == position
                )
            )
        ).one()

    async def _own_locked(self, session: Any, actor: Principal, attempt_id: str) -> Any:
        aid = parse_uuid(attempt_id, "attempt_id")
        row = await lock_attempt(session, aid)
        if row is None or str(row.trainee_id) != actor.subject:
            raise NotFound("attempt", attempt_id)
        return row

    async def record_page_leave(self, actor: Principal, attempt_id: str, client_time: datetime | None) -> LeaveResult:
        async with self._uow.begin() as tx:
            row = await self._own_locked(tx.session, actor, attempt_id)
            if row.status != IN_PROGRESS:
                raise FailedPrecondition("ATTEMPT_CLOSED", "the attempt was submitted")
            now = tx.now()
            await tx.session.execute(
                page_leaves.insert().values(attempt_id=row.id, left_at=now, client_time=client_time)
            )
            row = (
                await tx.session.execute(
                    attempts.update()
                    .where(attempts.c.id == row.id)
                    .values(page_leaves=attempts.c.page_leaves + 1)
                    .returning(*attempts.c)
                )
            ).one()
            exam = await self._exam(row.exam_id)
            cause = None
            if now >= row.deadline:
                cause = Cause.DEADLINE
            elif exam.page_leave_limit and row.page_leaves >= exam.page_leave_limit:
                cause = Cause.PAGE_LEAVES
            if cause is not None:
                row = await close_attempt(tx.session, tx.emit, self._catalogue, row, cause, now)
            answered = len([s for s in (await answers_of(tx.session, row.id)).values() if s])
            view = await self._view(row, answered)
        return LeaveResult(view, submitted=cause is not None)

    async def submit(self, actor: Principal, attempt_id: str) -> AttemptDetail:
        async with self._uow.begin() as tx:
            row = await self._own_locked(tx.session, actor, attempt_id)
            if row.status != GRADED:
                now = tx.now()
                cause = Cause.DEADLINE if now >= row.deadline else Cause.TRAINEE
                row = await close_attempt(tx.session, tx.emit, self._catalogue, row, cause, now)
            return await self._detail(tx.session, row)
