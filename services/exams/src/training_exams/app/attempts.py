"""Reading attempts (GetAttempt, ListAttempts), and the views every attempt use case returns:
the attempt, its paper as shown, and its answers (with verdicts for practice exams only)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from training_exams.app.catalogue import AttemptPaper, Catalogue, ExamDefinition
from training_exams.app.pages import ListPage, cut, newest_first
from training_exams.app.scope import attempts_visible, sees_attempt
from training_exams.app.submission import answers_of
from training_exams.app.views import AnswerView, AttemptView, PaperView, attempt_view, paper_view
from training_exams.domain.exam import ExamKind
from training_exams.domain.grading import judge
from training_exams.persistence.tables import attempt_answers, attempts
from training_runtime.auth import Principal
from training_runtime.db import UnitOfWork
from training_runtime.errors import NotFound
from training_runtime.paging import parse_page, parse_uuid


@dataclass(frozen=True)
class AttemptDetail:
    attempt: AttemptView
    paper: PaperView
    answers: list[AnswerView]


class AttemptViews:
    def __init__(self, uow: UnitOfWork, catalogue: Catalogue) -> None:
        self._uow = uow
        self._catalogue = catalogue

    async def exam(self, exam_id: uuid.UUID) -> ExamDefinition:
        exam = await self._catalogue.exam(exam_id)
        assert exam is not None, f"exam {exam_id} of an attempt is gone"
        return exam

    async def paper(self, attempt_id: uuid.UUID) -> AttemptPaper:
        paper = await self._catalogue.paper(attempt_id)
        assert paper is not None, f"attempt {attempt_id} has no paper"
        return paper

    async def view(self, row: Any, answered: int = 0) -> AttemptView:
        exam = await self.exam(row.exam_id)
        return attempt_view(row, bank_version=exam.bank_version, class_topics=exam.class_topics, answered=answered)

    async def answers(self, row: Any, stored: Sequence[Any]) -> list[AnswerView]:
        """Views of stored answers (rows of position, selected, revision), judged for practice exams."""
        exam = await self.exam(row.exam_id)
        paper = await self.paper(row.id)
        snapshot = await self._catalogue.snapshot(paper.bank_version_id)
        views = []
        for answer in sorted(stored, key=lambda a: a.position):
            selected = tuple(answer.selected)
            verdict = None
            if exam.kind is ExamKind.PRACTICE:
                item = paper.item(answer.position)
                verdict = judge(snapshot.by_key[item.question], item.order, selected)
            views.append(AnswerView(answer.position, selected, answer.revision, verdict))
        return views

    async def detail(self, row: Any, stored: Sequence[Any]) -> AttemptDetail:
        paper = await self.paper(row.id)
        snapshot = await self._catalogue.snapshot(paper.bank_version_id)
        return AttemptDetail(
            attempt=await self.view(row, answered=sum(1 for a in stored if a.selected)),
            paper=paper_view(paper.items, snapshot),
            answers=await self.answers(row, stored),
        )

    async def get(self, actor: Principal, attempt_id: str) -> AttemptDetail:
        aid = parse_uuid(attempt_id, "attempt_id")
        async with self._uow.read() as session:
            row = (await session.execute(select(attempts).where(attempts.c.id == aid))).one_or_none()
            if row is None or not sees_attempt(actor, row):
                raise NotFound("attempt", attempt_id)
            stored = await answers_of(session, row.id)
        return await self.detail(row, stored)

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
        return ListPage([await self.view(r, r.live_answered) for r in shown], token)
