"""What never changes once written, cached in-process: bank snapshots (the questions of a bank
version), exam definitions and the papers of attempts.

A mass start is ten thousand trainees asking for the same exam and the same bank version within a
minute. The first request loads each from PostgreSQL; the others wait for that load (single flight)
and then read memory, so a start costs the database only the trainee's own rows. Replicas each keep
their own cache; nothing cached can go stale because none of it is ever updated.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import select

from training_exams.domain.bank import Difficulty, Question, QuestionType
from training_exams.domain.exam import ExamKind
from training_exams.domain.paper import PaperItem, Section, Snapshot
from training_exams.persistence.tables import attempts, exams, questions
from training_runtime.db import UnitOfWork

K = TypeVar("K")
V = TypeVar("V")


class SingleFlightCache(Generic[K, V]):
    """A bounded LRU whose misses for one key share a single load."""

    def __init__(self, load: Callable[[K], Awaitable[V | None]], *, size: int) -> None:
        self._load = load
        self._size = size
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._loading: dict[K, asyncio.Future[V | None]] = {}

    async def get(self, key: K) -> V | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
            return value
        pending = self._loading.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            value = await self._load(key)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody else needs to
            raise
        finally:
            del self._loading[key]
        if not future.done():
            future.set_result(value)
        if value is not None:
            self.put(key, value)
        return value

    def put(self, key: K, value: V) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)


@dataclass(frozen=True)
class ExamDefinition:
    exam_id: uuid.UUID
    class_id: uuid.UUID
    institution_id: uuid.UUID
    region_code: str
    qualification_type: str
    operation_type: str
    training_kind: str
    # {topic code: syllabus topic id} of the class.
    class_topics: dict[str, str]
    kind: ExamKind
    title: str
    bank_id: uuid.UUID
    bank_version_id: uuid.UUID
    bank_version: int
    time_limit_seconds: int
    max_attempts: int
    face_check_at_start: bool
    page_leave_limit: int
    sections: tuple[Section, ...]
    question_count: int
    max_points: int
    pass_mark: int
    partial_credit: float
    rulebook_version: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AttemptPaper:
    """The immutable part of an attempt: whose it is and the paper it was given.

    Tens of thousands are cached during a mass start, so the paper is kept as plain tuples of
    strings and integers, which Python's cyclic garbage collector stops tracking; PaperItems are
    made when asked for.
    """

    attempt_id: uuid.UUID
    exam_id: uuid.UUID
    trainee_id: uuid.UUID
    bank_version_id: uuid.UUID
    compact: tuple[tuple[str, tuple[int, ...], int], ...]

    @classmethod
    def of(
        cls,
        attempt_id: uuid.UUID,
        exam_id: uuid.UUID,
        trainee_id: uuid.UUID,
        bank_version_id: uuid.UUID,
        items: tuple[PaperItem, ...],
    ) -> AttemptPaper:
        compact = tuple((i.question, tuple(i.order), i.points) for i in items)
        return cls(attempt_id, exam_id, trainee_id, bank_version_id, compact)

    def __len__(self) -> int:
        return len(self.compact)

    def item(self, position: int) -> PaperItem:
        return PaperItem(*self.compact[position])

    @property
    def items(self) -> tuple[PaperItem, ...]:
        return tuple(PaperItem(*c) for c in self.compact)


def sections_to_json(sections: tuple[Section, ...]) -> list[dict[str, Any]]:
    return [
        {
            "type": s.type.value,
            "topic": s.topic,
            "difficulty": s.difficulty.value if s.difficulty else None,
            "count": s.count,
            "points": s.points,
        }
        for s in sections
    ]


def sections_from_json(raw: list[dict[str, Any]]) -> tuple[Section, ...]:
    return tuple(
        Section(
            type=QuestionType(s["type"]),
            topic=s["topic"],
            difficulty=Difficulty(s["difficulty"]) if s["difficulty"] else None,
            count=s["count"],
            points=s["points"],
        )
        for s in raw
    )


def paper_to_json(items: tuple[PaperItem, ...]) -> list[list[Any]]:
    return [[item.question, list(item.order), item.points] for item in items]


def paper_from_json(raw: list[list[Any]]) -> tuple[PaperItem, ...]:
    return tuple(PaperItem(key, tuple(order), points) for key, order, points in raw)


def question_from_row(row: Any) -> Question:
    return Question(
        key=row.key,
        topic=row.topic,
        type=QuestionType(row.type),
        difficulty=Difficulty(row.difficulty),
        stem=row.stem,
        options=tuple(row.options),
        answer=frozenset(row.answer),
    )


def exam_from_row(row: Any) -> ExamDefinition:
    return ExamDefinition(
        exam_id=row.id,
        class_id=row.class_id,
        institution_id=row.institution_id,
        region_code=row.region_code,
        qualification_type=row.qualification_type,
        operation_type=row.operation_type,
        training_kind=row.training_kind,
        class_topics=dict(row.class_topics),
        kind=ExamKind(row.kind),
        title=row.title,
        bank_id=row.bank_id,
        bank_version_id=row.bank_version_id,
        bank_version=row.bank_version,
        time_limit_seconds=row.time_limit_seconds,
        max_attempts=row.max_attempts,
        face_check_at_start=row.face_check_at_start,
        page_leave_limit=row.page_leave_limit,
        sections=sections_from_json(row.blueprint),
        question_count=row.question_count,
        max_points=row.max_points,
        pass_mark=row.pass_mark,
        partial_credit=row.partial_credit,
        rulebook_version=row.rulebook_version,
        created_by=row.created_by,
        created_at=row.created_at,
    )


class Catalogue:
    def __init__(self, uow: UnitOfWork, *, snapshots: int = 64, exams: int = 4096, papers: int = 50_000) -> None:
        self._uow = uow
        self._snapshots = SingleFlightCache(self._load_snapshot, size=snapshots)
        self._exams = SingleFlightCache(self._load_exam, size=exams)
        self._papers = SingleFlightCache(self._load_paper, size=papers)

    async def snapshot(self, version_id: uuid.UUID) -> Snapshot:
        found = await self._snapshots.get(version_id)
        if found is None:
            raise LookupError(f"bank version {version_id} has no questions")
        return found

    async def exam(self, exam_id: uuid.UUID) -> ExamDefinition | None:
        return await self._exams.get(exam_id)

    async def paper(self, attempt_id: uuid.UUID) -> AttemptPaper | None:
        return await self._papers.get(attempt_id)

    def remember_paper(self, paper: AttemptPaper) -> None:
        self._papers.put(paper.attempt_id, paper)

    async def _load_snapshot(self, version_id: uuid.UUID) -> Snapshot | None:
        async with self._uow.read() as session:
            rows = (
                await session.execute(
                    select(questions).where(questions.c.bank_version_id == version_id).order_by(questions.c.position)
                )
            ).all()
        if not rows:
            return None
        return Snapshot(version_id=str(version_id), questions=tuple(question_from_row(r) for r in rows))

    async def _load_exam(self, exam_id: uuid.UUID) -> ExamDefinition | None:
        async with self._uow.read() as session:
            row = (await session.execute(select(exams).where(exams.c.id == exam_id))).one_or_none()
        return exam_from_row(row) if row is not None else None

    async def _load_paper(self, attempt_id: uuid.UUID) -> AttemptPaper | None:
        async with self._uow.read() as session:
            row = (
                await session.execute(
                    select(
                        attempts.c.exam_id, attempts.c.trainee_id, attempts.c.bank_version_id, attempts.c.paper
                    ).where(attempts.c.id == attempt_id)
                )
            ).one_or_none()
        if row is None:
            return None
        return AttemptPaper.of(attempt_id, row.exam_id, row.trainee_id, row.bank_version_id, paper_from_json(row.paper))
