"""Checking a selection and grading a paper, on the server only.

Selections name options as the trainee saw them (positions in the shuffled order); grading maps
them back through the paper's recorded order to the bank's options and compares with the key.
Single-choice and true/false questions score all or nothing; multiple-choice questions score all
for exactly the correct set, the rulebook's share for some correct options and no wrong one
(0 by default: 多选、少选、错选均不得分), nothing otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from training_exams.domain.bank import Question, QuestionType
from training_exams.domain.paper import PaperItem, Snapshot


class Verdict(StrEnum):
    CORRECT = "correct"
    INCORRECT = "incorrect"
    PARTIAL = "partial"
    UNANSWERED = "unanswered"


def selection_problem(question: Question, selected: Sequence[int]) -> str | None:
    """Why `selected` (displayed positions) cannot be an answer to `question`, or None."""
    count = len(question.options)
    if any(not 0 <= s < count for s in selected):
        return f"must be option indices 0 to {count - 1}"
    if len(set(selected)) != len(selected):
        return "names an option twice"
    if question.type is not QuestionType.MULTIPLE and len(selected) > 1:
        return "a single-choice or true/false question takes one option"
    return None


def judge(question: Question, order: Sequence[int], selected: Sequence[int]) -> Verdict:
    if not selected:
        return Verdict.UNANSWERED
    chosen = {order[s] for s in selected}
    if chosen == question.answer:
        return Verdict.CORRECT
    if question.type is QuestionType.MULTIPLE and chosen < question.answer:
        return Verdict.PARTIAL
    return Verdict.INCORRECT


@dataclass(frozen=True)
class QuestionGrade:
    position: int
    topic: str
    verdict: Verdict
    points: int
    max_points: int


@dataclass(frozen=True)
class TopicGrade:
    topic: str
    points: int
    max_points: int


@dataclass(frozen=True)
class Grade:
    score: int
    max_points: int
    pass_mark: int
    passed: bool
    topics: tuple[TopicGrade, ...]
    questions: tuple[QuestionGrade, ...]


def grade(
    paper: Sequence[PaperItem],
    snapshot: Snapshot,
    answers: Mapping[int, Sequence[int]],
    *,
    partial_credit: float,
    pass_mark: int,
) -> Grade:
    """Score `answers` (position -> displayed selection) on `paper`; points in hundredths."""
    questions: list[QuestionGrade] = []
    topics: dict[str, list[int]] = {}
    for position, item in enumerate(paper):
        question = snapshot.by_key[item.question]
        verdict = judge(question, item.order, answers.get(position, ()))
        points = {Verdict.CORRECT: item.points, Verdict.PARTIAL: int(item.points * partial_credit)}.get(verdict, 0)
        questions.append(QuestionGrade(position, question.topic, verdict, points, item.points))
        totals = topics.setdefault(question.topic, [0, 0])
        totals[0] += points
        totals[1] += item.points
    score = sum(q.points for q in questions)
    return Grade(
        score=score,
        max_points=sum(item.points for item in paper),
        pass_mark=pass_mark,
        passed=score >= pass_mark,
        topics=tuple(TopicGrade(t, p, m) for t, (p, m) in sorted(topics.items())),
        questions=tuple(questions),
    )
