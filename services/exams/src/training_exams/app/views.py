"""What the use cases hand to the API: plain data, never answer keys.

A paper view lists each question's options in the order the trainee sees them; answers name
positions in that order. Nothing here says which options are correct.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from training_exams.domain.bank import Difficulty, QuestionType
from training_exams.domain.exam import ExamKind
from training_exams.domain.grading import Verdict
from training_exams.domain.paper import PaperItem, Snapshot
from training_runtime.vocabulary import QualificationType


@dataclass(frozen=True, slots=True)
class QuestionCountView:
    type: QuestionType
    topic: str
    difficulty: Difficulty
    count: int


@dataclass(frozen=True, slots=True)
class BankVersionView:
    version: int
    status: str
    title: str
    topics: list[tuple[str, str]]
    question_count: int
    counts: list[QuestionCountView]
    imported_by: str
    imported_at: datetime
    reviewed_by: str
    reviewed_at: datetime | None
    review_comment: str
    content_sha256: str


@dataclass(frozen=True, slots=True)
class BankView:
    bank_id: str
    code: str
    title: str
    institution_id: str
    qualification_types: list[QualificationType]
    versions: list[BankVersionView]
    created_at: datetime


def bank_version_view(row: Any) -> BankVersionView:
    return BankVersionView(
        version=row.version,
        status=row.status,
        title=row.title,
        topics=[(t["code"], t["title"]) for t in row.topics],
        question_count=row.question_count,
        counts=[
            QuestionCountView(QuestionType(c["type"]), c["topic"], Difficulty(c["difficulty"]), c["count"])
            for c in row.counts
        ],
        imported_by=row.imported_by,
        imported_at=row.imported_at,
        reviewed_by=row.reviewed_by or "",
        reviewed_at=row.reviewed_at,
        review_comment=row.review_comment,
        content_sha256=row.content_sha256,
    )


def bank_view(bank: Any, versions: list[Any]) -> BankView:
    latest = versions[-1]
    return BankView(
        bank_id=str(bank.id),
        code=bank.code,
        title=latest.title,
        institution_id=str(bank.institution_id) if bank.institution_id else "",
        qualification_types=[QualificationType(q) for q in latest.qualification_types],
        versions=[bank_version_view(v) for v in versions],
        created_at=bank.created_at,
    )


class PaperQuestionView(NamedTuple):
    """A tuple: a paper has many questions and a mass start builds thousands of papers."""

    position: int
    type: QuestionType
    topic: str
    stem: str
    options: tuple[str, ...]
    points: int


@dataclass(frozen=True, slots=True)
class PaperView:
    questions: tuple[PaperQuestionView, ...]
    max_points: int


def paper_view(items: tuple[PaperItem, ...], snapshot: Snapshot) -> PaperView:
    questions = snapshot.by_key
    shown = tuple(
        PaperQuestionView(
            position,
            (q := questions[item.question]).type,
            q.topic,
            q.stem,
            tuple(q.options[i] for i in item.order),
            item.points,
        )
        for position, item in enumerate(items)
    )
    return PaperView(shown, sum(item.points for item in items))


@dataclass(frozen=True, slots=True)
class TopicScoreView:
    topic_code: str
    topic_id: str
    points: int
    max_points: int


@dataclass(frozen=True, slots=True)
class AttemptView:
    attempt_id: str
    exam_id: str
    kind: ExamKind
    class_id: str
    enrollment_id: str
    trainee_id: str
    institution_id: str
    region_code: str
    number: int
    status: str
    started_at: datetime
    deadline: datetime
    submitted_at: datetime | None
    cause: str
    score: int
    max_points: int
    pass_mark: int
    passed: bool
    topics: list[TopicScoreView]
    answered: int
    page_leaves: int
    start_face_check_id: str
    seed: int
    bank_version: int
    graded_at: datetime | None


def topic_scores(raw: list[dict[str, Any]] | None, class_topics: dict[str, str]) -> list[TopicScoreView]:
    return [
        TopicScoreView(t["topic"], class_topics.get(t["topic"], ""), t["points"], t["max_points"]) for t in raw or []
    ]


def attempt_view(row: Any, *, bank_version: int, class_topics: dict[str, str], answered: int) -> AttemptView:
    return AttemptView(
        attempt_id=str(row.id),
        exam_id=str(row.exam_id),
        kind=ExamKind(row.kind),
        class_id=str(row.class_id),
        enrollment_id=str(row.enrollment_id),
        trainee_id=str(row.trainee_id),
        institution_id=str(row.institution_id),
        region_code=row.region_code,
        number=row.number,
        status=row.status,
        started_at=row.started_at,
        deadline=row.deadline,
        submitted_at=row.submitted_at,
        cause=row.cause or "",
        score=row.score or 0,
        max_points=row.max_points,
        pass_mark=row.pass_mark,
        passed=bool(row.passed),
        topics=topic_scores(row.topics, class_topics),
        answered=row.answered if row.answered is not None else answered,
        page_leaves=row.page_leaves,
        start_face_check_id=row.start_face_check_id,
        seed=row.seed,
        bank_version=bank_version,
        graded_at=row.graded_at,
    )


@dataclass(frozen=True, slots=True)
class AnswerView:
    position: int
    selected: tuple[int, ...]
    revision: int
    # Practice exams only; None otherwise.
    verdict: Verdict | None
