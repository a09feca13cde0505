"""Answering an attempt in progress: saving answers (idempotent by revision), logging page leaves
(the rulebook's count submits mock and final attempts), and submitting.

Saves and submissions go through group commit: those arriving together share one transaction, one
upsert of all their answers, or one lock-grade-update of all their attempts.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from opentelemetry.context import Context

from training_events import Event
from training_events.tracing import captured, restored
from training_exams.app.attempts import AttemptDetail, AttemptViews
from training_exams.app.catalogue import Catalogue
from training_exams.app.submission import (
    Cause,
    answers_by_attempt,
    answers_of,
    close_attempt,
    close_attempts,
    lock_attempt,
)
from training_exams.app.views import AnswerView, AttemptView
from training_exams.domain.exam import ExamKind
from training_exams.domain.grading import judge, selection_problem
from training_exams.persistence.statements import (
    ATTEMPT_STATES,
    IN_PROGRESS,
    LOCK_ATTEMPTS,
    SAVE_ANSWERS,
    STORED_ANSWERS,
)
from training_exams.persistence.tables import attempts, page_leaves
from training_runtime.auth import Principal
from training_runtime.batching import GroupCommit
from training_runtime.clock import Clock
from training_runtime.db import UnitOfWork
from training_runtime.errors import FailedPrecondition, InvalidArgument, NotFound, Validator
from training_runtime.paging import parse_uuid

MAX_REVISION = 2**62
# More than any question has options.
MAX_SELECTED = 26


@dataclass(frozen=True)
class LeaveResult:
    attempt: AttemptView
    submitted: bool


@dataclass(frozen=True)
class _Save:
    attempt_id: uuid.UUID
    position: int
    selected: tuple[int, ...]
    revision: int
    at: datetime


@dataclass(frozen=True)
class _Submit:
    attempt_id: uuid.UUID
    trainee: str
    # The submitting call's trace: the attempt's events continue it (group commit writes them later).
    trace: Context = field(default_factory=captured, compare=False)


@dataclass(frozen=True)
class _Stored:
    selected: tuple[int, ...]
    revision: int
    applied: bool


def _array_literal(selected: tuple[int, ...]) -> str:
    return "{" + ",".join(str(s) for s in selected) + "}"


class Answers:
    """Answers are saved by group commit: concurrent saves share one transaction and one upsert."""

    def __init__(
        self, uow: UnitOfWork, clock: Clock, catalogue: Catalogue, views: AttemptViews, *, max_batch: int, writers: int
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._catalogue = catalogue
        self._views = views
        self._saves = GroupCommit(self._store, max_batch=max_batch, writers=writers, name="answer batch")
        self._submits = GroupCommit(self._close, max_batch=max_batch, writers=writers, name="submit batch")

    async def run(self) -> None:
        """The answer and submission writers (a background job)."""
        await asyncio.gather(self._saves.run(), self._submits.run())

    async def save(
        self, actor: Principal, attempt_id: str, position: int, selected: Sequence[int], revision: int
    ) -> tuple[AnswerView, bool]:
        """Store one answer; (the stored answer, whether this save changed it)."""
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
        if position >= len(paper):
            raise InvalidArgument("position", f"must be 0 to {len(paper) - 1}")
        item = paper.item(position)
        question = (await self._catalogue.snapshot(paper.bank_version_id)).by_key[item.question]
        if len(selected) > MAX_SELECTED:
            raise InvalidArgument("selected", f"has {len(selected)} items; at most {MAX_SELECTED}")
        chosen = tuple(int(v) for v in selected)
        problem = selection_problem(question, chosen)
        if problem is not None:
            raise InvalidArgument("selected", problem)
        stored = await self._saves.submit(_Save(aid, position, chosen, revision, self._clock.now()))
        exam = await self._views.exam(paper.exam_id)
        verdict = judge(question, item.order, stored.selected) if exam.kind is ExamKind.PRACTICE else None
        return AnswerView(position, stored.selected, stored.revision, verdict), stored.applied

    async def _store(self, items: list[_Save]) -> list[_Stored | BaseException]:
        """One batch: the newest revision of each (attempt, position) in one upsert; then each save's outcome."""
        newest: dict[tuple[uuid.UUID, int], _Save] = {}
        for save in items:
            key = (save.attempt_id, save.position)
            if key not in newest or save.revision > newest[key].revision:
                newest[key] = save
        rows = sorted(newest.values(), key=lambda s: (s.attempt_id, s.position))
        async with self._uow.begin() as tx:
            result = await tx.session.execute(
                SAVE_ANSWERS,
                {
                    "attempt_ids": [r.attempt_id for r in rows],
                    "positions": [r.position for r in rows],
                    "selected": [_array_literal(r.selected) for r in rows],
                    "revisions": [r.revision for r in rows],
                    "saved_at": [r.at for r in rows],
                },
            )
            saved = {(r.attempt_id, r.position): (tuple(r.selected), r.revision) for r in result}
            refused = sorted({key[0] for key in newest if key not in saved})
            states: dict[uuid.UUID, Any] = {}
            before: dict[tuple[uuid.UUID, int], tuple[tuple[int, ...], int]] = {}
            if refused:
                found = await tx.session.execute(ATTEMPT_STATES, {"attempt_ids": refused})
                states = {r.id: r for r in found}
                stored = await tx.session.execute(STORED_ANSWERS, {"attempt_ids": refused})
                before = {(r.attempt_id, r.position): (tuple(r.selected), r.revision) for r in stored}
        outcomes: list[_Stored | BaseException] = []
        for save in items:
            key = (save.attempt_id, save.position)
            state = states.get(save.attempt_id)
            if key in saved:
                selected, revision = saved[key]
                outcomes.append(_Stored(selected, revision, applied=newest[key] is save))
            elif state is None:
                outcomes.append(NotFound("attempt", str(save.attempt_id)))
            elif state.status != IN_PROGRESS:
                outcomes.append(
                    FailedPrecondition("ATTEMPT_CLOSED", "the attempt was submitted; answers can no longer change")
                )
            elif save.at >= state.deadline:
                outcomes.append(
                    FailedPrecondition(
                        "ATTEMPT_DEADLINE_PASSED",
                        "the attempt's time is up; it is being submitted with the answers saved",
                    )
                )
            else:
                selected, revision = before[key]
                outcomes.append(_Stored(selected, revision, applied=False))
        return outcomes

    @staticmethod
    async def _own_locked(session: Any, actor: Principal, attempt_id: str) -> Any:
        row = await lock_attempt(session, parse_uuid(attempt_id, "attempt_id"))
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
            exam = await self._views.exam(row.exam_id)
            cause = None
            if now >= row.deadline:
                cause = Cause.DEADLINE
            elif exam.page_leave_limit and row.page_leaves >= exam.page_leave_limit:
                cause = Cause.PAGE_LEAVES
            if cause is not None:
                row, stored = await close_attempt(tx.session, tx.emit, self._catalogue, row, cause, now)
            else:
                stored = await answers_of(tx.session, row.id)
        view = await self._views.view(row, answered=sum(1 for a in stored if a.selected))
        return LeaveResult(view, submitted=cause is not None)

    async def submit(self, actor: Principal, attempt_id: str) -> AttemptDetail:
        """Submit and grade; an attempt already graded is returned as it is (the same result)."""
        row, stored = await self._submits.submit(_Submit(parse_uuid(attempt_id, "attempt_id"), actor.subject))
        return await self._views.detail(row, stored)

    async def _close(self, items: list[_Submit]) -> list[tuple[Any, list[Any]] | BaseException]:
        """One batch of submissions: lock the attempts (in id order), grade those still in progress."""
        ids = sorted({item.attempt_id for item in items})
        async with self._uow.begin() as tx:
            now = tx.now()
            rows = {r.id: r for r in await tx.session.execute(LOCK_ATTEMPTS, {"attempt_ids": ids})}
            answers = await answers_by_attempt(tx.session, ids)
            claimed = {(item.attempt_id, item.trainee) for item in items}
            closing = [
                (row, answers.get(row.id, []), Cause.DEADLINE if now >= row.deadline else Cause.TRAINEE)
                for row in rows.values()
                if row.status == IN_PROGRESS and (row.id, str(row.trainee_id)) in claimed
            ]
            traces = {str(item.attempt_id): item.trace for item in items}

            async def emit(event: Event) -> None:
                with restored(traces.get(event.key)):  # an attempt's events are keyed by its id
                    await tx.emit(event)

            for graded in await close_attempts(tx.session, emit, self._catalogue, closing, now):
                rows[graded.id] = graded
        outcomes: list[tuple[Any, list[Any]] | BaseException] = []
        for item in items:
            row = rows.get(item.attempt_id)
            if row is None or str(row.trainee_id) != item.trainee:
                outcomes.append(NotFound("attempt", str(item.attempt_id)))
            else:
                outcomes.append((row, answers.get(row.id, [])))
        return outcomes
