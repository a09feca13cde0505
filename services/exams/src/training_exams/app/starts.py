"""Starting an attempt, or resuming the one in progress: built for a whole class starting at once.

A start reads the cached exam and bank snapshot and assembles the paper in memory from a fresh
seed. Starts arriving together share one transaction (group commit): one read of the trainees'
enrollments and attempts, one multi-row insert of the new attempts. A start that finds an attempt
in progress (a resume, or a race) is then handled alone. When the exam checks faces, eligibility
is read first, then identity's VerifyFace is called with no transaction open, then the start joins
a batch.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.dialects.postgresql import insert

from training_exams.app.attempts import AttemptViews
from training_exams.app.catalogue import AttemptPaper, Catalogue, ExamDefinition, paper_to_json
from training_exams.app.exams import new_seed
from training_exams.app.submission import Cause, answers_of, close_attempt, lock_attempt
from training_exams.app.views import AnswerView, AttemptView, PaperView, paper_view
from training_exams.domain.exam import ExamKind
from training_exams.domain.paper import PaperItem, Snapshot, assemble
from training_exams.persistence.statements import (
    ELIGIBILITY,
    ELIGIBILITY_MANY,
    IN_PROGRESS,
    INSERT_ATTEMPTS,
    attempt_arrays,
)
from training_exams.persistence.tables import face_checks
from training_runtime.auth import Principal
from training_runtime.batching import GroupCommit
from training_runtime.db import UnitOfWork
from training_runtime.errors import Aborted, DomainError, FailedPrecondition, InvalidArgument, NotFound
from training_runtime.faces import FaceResult, FaceVerifier
from training_runtime.paging import parse_uuid

MAX_IMAGE_BYTES = 3 * 1024 * 1024


@dataclass(frozen=True)
class StartResult:
    attempt: AttemptView
    paper: PaperView
    answers: list[AnswerView]
    resumed: bool


@dataclass(frozen=True)
class _Start:
    exam: ExamDefinition
    me: uuid.UUID
    planned: uuid.UUID
    face: FaceResult | None


def _check_eligible(exam: ExamDefinition, found: Any) -> None:
    if found is None:
        raise NotFound("exam", str(exam.exam_id))  # not a class of the caller's
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


class Starts:
    def __init__(
        self,
        uow: UnitOfWork,
        catalogue: Catalogue,
        faces: FaceVerifier,
        views: AttemptViews,
        *,
        max_batch: int,
        writers: int,
    ) -> None:
        self._uow = uow
        self._catalogue = catalogue
        self._faces = faces
        self._views = views
        self._batch = GroupCommit(self._start_many, max_batch=max_batch, writers=writers, name="start batch")

    async def run(self) -> None:
        """The start writers (a background job)."""
        await self._batch.run()

    async def start(self, actor: Principal, exam_id: str, image: bytes) -> StartResult:
        eid = parse_uuid(exam_id, "exam_id")
        me = uuid.UUID(actor.subject)
        exam = await self._catalogue.exam(eid)
        if exam is None:
            raise NotFound("exam", exam_id)
        face = None
        planned = uuid.uuid4()
        if exam.face_check_at_start:
            if not image:
                raise InvalidArgument("face_image", "is required: this exam checks the trainee's face at start")
            if len(image) > MAX_IMAGE_BYTES:
                raise InvalidArgument("face_image", f"must be at most {MAX_IMAGE_BYTES} bytes")
            async with self._uow.read() as session:
                found = (await session.execute(ELIGIBILITY, self._keys(exam, me))).one_or_none()
            _check_eligible(exam, found)
            face = await self._check_face(exam, me, found.open_id or planned, image)
        started = await self._batch.submit(_Start(exam, me, planned, face))
        if started is not None:
            return started
        for _ in range(3):
            started = await self._start_or_resume(exam, me, planned, face)
            if started is not None:
                return started
        raise Aborted("the attempt changed while it was being started; retry")

    @staticmethod
    def _keys(exam: ExamDefinition, me: uuid.UUID) -> dict[str, Any]:
        return {"exam_id": exam.exam_id, "trainee_id": me, "class_id": exam.class_id}

    async def _start_many(self, starts: list[_Start]) -> list[StartResult | BaseException | None]:
        """Fresh starts of a batch in one transaction; None for those to be handled one by one."""
        outcomes: list[StartResult | BaseException | None] = [None] * len(starts)
        inserted: dict[uuid.UUID, Any] = {}
        papers: dict[int, tuple[tuple[PaperItem, ...], Snapshot]] = {}
        async with self._uow.begin() as tx:
            found = await tx.session.execute(
                ELIGIBILITY_MANY,
                {
                    "ns": list(range(len(starts))),
                    "exam_ids": [s.exam.exam_id for s in starts],
                    "trainee_ids": [s.me for s in starts],
                    "class_ids": [s.exam.class_id for s in starts],
                },
            )
            eligibility = {r.n: r for r in found}
            now = tx.now()
            rows, seen = [], set()
            for n, start in enumerate(starts):
                row = eligibility[n]
                try:
                    _check_eligible(start.exam, row if row.id is not None else None)
                except DomainError as exc:
                    outcomes[n] = exc
                    continue
                if row.open_id is not None or (start.exam.exam_id, start.me) in seen:
                    continue
                seen.add((start.exam.exam_id, start.me))
                snapshot = await self._catalogue.snapshot(start.exam.bank_version_id)
                seed = new_seed()
                papers[n] = (assemble(snapshot, start.exam.sections, seed), snapshot)
                rows.append(_attempt_row(start, row, seed, papers[n][0], now))
            if rows:
                inserted = {r.id: r for r in await tx.session.execute(INSERT_ATTEMPTS, attempt_arrays(rows))}
                checked = [s for s in starts if s.face is not None and s.planned in inserted]
                if checked:
                    await tx.session.execute(
                        insert(face_checks).on_conflict_do_nothing(),
                        [_face_row(s.exam, s.me, s.planned, s.face, now) for s in checked if s.face],
                    )
        for n, (items, snapshot) in papers.items():
            start = starts[n]
            row = inserted.get(start.planned)
            if row is None:
                continue  # a concurrent start won: handled alone, it resumes that attempt
            self._catalogue.remember_paper(
                AttemptPaper.of(row.id, start.exam.exam_id, start.me, start.exam.bank_version_id, items)
            )
            outcomes[n] = StartResult(await self._views.view(row), paper_view(items, snapshot), [], resumed=False)
        return outcomes

    async def _start_or_resume(
        self, exam: ExamDefinition, me: uuid.UUID, planned: uuid.UUID, face: FaceResult | None
    ) -> StartResult | None:
        """One transaction; None when a concurrent change (another start, the deadline) means trying again."""
        async with self._uow.begin() as tx:
            found = (await tx.session.execute(ELIGIBILITY, self._keys(exam, me))).one_or_none()
            _check_eligible(exam, found)
            now = tx.now()
            if found.open_id is not None:
                row = await lock_attempt(tx.session, found.open_id)
                if row is None or row.status != IN_PROGRESS:
                    return None
                if face is not None:
                    await self._record_face(tx.session, exam, me, row.id, face, now)
                if now >= row.deadline:
                    await close_attempt(tx.session, tx.emit, self._catalogue, row, Cause.DEADLINE, now)
                    return None  # closed for its deadline: the next try starts a new attempt if one is left
                stored = await answers_of(tx.session, row.id)
            else:
                snapshot = await self._catalogue.snapshot(exam.bank_version_id)
                seed = new_seed()
                items = assemble(snapshot, exam.sections, seed)
                start = _Start(exam, me, planned, face)
                row = (
                    await tx.session.execute(
                        INSERT_ATTEMPTS, attempt_arrays([_attempt_row(start, found, seed, items, now)])
                    )
                ).one_or_none()
                if row is None:
                    return None  # a concurrent start won: the next try resumes its attempt
                if face is not None:
                    await self._record_face(tx.session, exam, me, row.id, face, now)
        if found.open_id is None:
            self._catalogue.remember_paper(AttemptPaper.of(row.id, exam.exam_id, me, exam.bank_version_id, items))
            return StartResult(await self._views.view(row), paper_view(items, snapshot), [], resumed=False)
        detail = await self._views.detail(row, stored)
        return StartResult(detail.attempt, detail.paper, detail.answers, resumed=True)

    async def _check_face(self, exam: ExamDefinition, me: uuid.UUID, attempt_id: uuid.UUID, image: bytes) -> FaceResult:
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
            insert(face_checks).on_conflict_do_nothing(), _face_row(exam, me, attempt_id, result, now)
        )


def _face_row(
    exam: ExamDefinition, me: uuid.UUID, attempt_id: uuid.UUID | None, result: FaceResult, now: datetime
) -> dict[str, Any]:
    return {
        "face_check_id": result.face_check_id,
        "exam_id": exam.exam_id,
        "trainee_id": me,
        "attempt_id": attempt_id,
        "outcome": result.outcome,
        "passed": result.passed,
        "checked_at": now,
    }


def _attempt_row(start: _Start, found: Any, seed: int, items: tuple[PaperItem, ...], now: datetime) -> dict[str, Any]:
    exam = start.exam
    return {
        "id": start.planned,
        "exam_id": exam.exam_id,
        "class_id": exam.class_id,
        "enrollment_id": found.id,
        "trainee_id": start.me,
        "institution_id": exam.institution_id,
        "region_code": exam.region_code,
        "employer_credit_code": found.employer_credit_code,
        "kind": exam.kind.value,
        "number": found.taken + 1,
        "status": IN_PROGRESS,
        "seed": seed,
        "paper": json.dumps(paper_to_json(items)),
        "bank_version_id": exam.bank_version_id,
        "started_at": now,
        "deadline": now + timedelta(seconds=exam.time_limit_seconds),
        "start_face_check_id": start.face.face_check_id if start.face else "",
        "page_leaves": 0,
        "max_points": exam.max_points,
        "pass_mark": exam.pass_mark,
    }
