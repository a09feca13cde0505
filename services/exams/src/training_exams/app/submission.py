"""Submitting and grading an attempt, whoever submits it (the trainee, the deadline sweeper, the
page-leave limit), exactly once.

Every path locks the attempt row (`SELECT ... FOR UPDATE`) and closes it only while it is still in
progress, in the transaction that writes the grade and both events to the outbox: a second submit
finds it graded and changes nothing, so the events are published once per attempt whatever races.
Saving an answer takes a share lock on the same row, so an answer is either saved before the
attempt closes (and graded) or refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from enum import StrEnum
from types import SimpleNamespace
from typing import Any

from training.exams.v1 import exams_events_pb2 as events
from training_events import Event
from training_exams.app.catalogue import Catalogue, ExamDefinition, paper_from_json
from training_exams.chains import CHAINS, GRADED_ATTEMPTS
from training_exams.domain.exam import ExamKind
from training_exams.domain.grading import grade
from training_exams.persistence.statements import ANSWERS, GRADE_ATTEMPTS, GRADED, LOCK_ATTEMPT, STORED_ANSWERS
from training_records import append
from training_runtime.protoconv import kind_to_proto, qualification_to_proto, timestamp
from training_runtime.vocabulary import QualificationType, TrainingKind

ATTEMPT_SUBMITTED = "training.exams.attempt.submitted.v1"
ATTEMPT_GRADED = "training.exams.attempt.graded.v1"


class Cause(StrEnum):
    TRAINEE = "trainee"
    DEADLINE = "deadline"
    PAGE_LEAVES = "page_leaves"


KIND_PROTO = {k: events.ExamKind.Value(f"EXAM_KIND_{k.name}") for k in ExamKind}
CAUSE_PROTO = {c: events.SubmissionCause.Value(f"SUBMISSION_CAUSE_{c.name}") for c in Cause}


async def lock_attempt(session: Any, attempt_id: uuid.UUID) -> Any:
    return (await session.execute(LOCK_ATTEMPT, {"attempt_id": attempt_id})).one_or_none()


async def answers_of(session: Any, attempt_id: uuid.UUID) -> list[Any]:
    """The stored answers of an attempt: rows of (position, selected, revision)."""
    return list((await session.execute(ANSWERS, {"attempt_id": attempt_id})).all())


async def answers_by_attempt(session: Any, attempt_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Any]]:
    """The stored answers of several attempts, by attempt."""
    found: dict[uuid.UUID, list[Any]] = {}
    for row in await session.execute(STORED_ANSWERS, {"attempt_ids": list(attempt_ids)}):
        found.setdefault(row.attempt_id, []).append(row)
    return found


def _points(hundredths: int) -> float:
    return hundredths / 100


async def close_attempt(
    session: Any,
    emit: Callable[[Event], Awaitable[None]],
    catalogue: Catalogue,
    row: Any,
    cause: Cause,
    now: datetime,
) -> tuple[Any, list[Any]]:
    """Grade the locked, in-progress attempt `row`, store the result and emit both events; returns
    the graded row and the answers it was graded on."""
    answers = await answers_of(session, row.id)
    (graded,) = await close_attempts(session, emit, catalogue, [(row, answers, cause)], now)
    return graded, answers


async def close_attempts(
    session: Any,
    emit: Callable[[Event], Awaitable[None]],
    catalogue: Catalogue,
    closing: Sequence[tuple[Any, Sequence[Any], Cause]],
    now: datetime,
) -> list[Any]:
    """Grade locked, in-progress attempts (each with its stored answers and why it closes) in one
    statement, emit their events, and return the graded rows in the same order."""
    graded, parameters, topics = [], [], []
    for row, answers, cause in closing:
        exam = await catalogue.exam(row.exam_id)
        assert exam is not None, f"attempt {row.id} names exam {row.exam_id}, which is gone"
        snapshot = await catalogue.snapshot(row.bank_version_id)
        result = grade(
            paper_from_json(row.paper),
            snapshot,
            {a.position: tuple(a.selected) for a in answers},
            partial_credit=exam.partial_credit,
            pass_mark=row.pass_mark,
        )
        changes = {
            "status": GRADED,
            # An attempt closed for its deadline was submitted at the deadline, whenever the sweeper ran.
            "submitted_at": min(now, row.deadline) if cause is Cause.DEADLINE else now,
            "cause": cause.value,
            "graded_at": now,
            "score": result.score,
            "passed": result.passed,
            "topics": [{"topic": t.topic, "points": t.points, "max_points": t.max_points} for t in result.topics],
            "answered": sum(1 for a in answers if a.selected),
        }
        parameters.append({"attempt_id": row.id, **{f"p_{k}": v for k, v in changes.items() if k != "status"}})
        graded.append(SimpleNamespace(**{**row._mapping, **changes}))
        topics.append((exam, [(t.topic, t.points, t.max_points) for t in result.topics]))
    if parameters:
        await session.execute(GRADE_ATTEMPTS, parameters)
        await append(session, CHAINS, GRADED_ATTEMPTS, [p["attempt_id"] for p in parameters], now=now)
    for row, (exam, scores) in zip(graded, topics, strict=True):
        for event in attempt_events(row, exam, scores):
            await emit(event)
    return graded


def attempt_events(row: Any, exam: ExamDefinition, topics: list[tuple[str, int, int]]) -> list[Event]:
    common = {
        "attempt_id": str(row.id),
        "exam_id": str(row.exam_id),
        "kind": KIND_PROTO[ExamKind(row.kind)],
        "enrollment_id": str(row.enrollment_id),
        "class_id": str(row.class_id),
        "trainee_id": str(row.trainee_id),
        "institution_id": str(row.institution_id),
        "region_code": row.region_code,
        "cause": CAUSE_PROTO[Cause(row.cause)],
        "started_at": timestamp(row.started_at),
        "submitted_at": timestamp(row.submitted_at),
    }
    submitted = events.AttemptSubmitted(**common)
    graded = events.AttemptGraded(
        **common,
        qualification_type=qualification_to_proto(QualificationType(exam.qualification_type)),
        operation_type=exam.operation_type,
        training_kind=kind_to_proto(TrainingKind(exam.training_kind)),
        score=_points(row.score),
        max_points=_points(row.max_points),
        pass_mark=_points(row.pass_mark),
        passed=row.passed,
        topics=[
            events.TopicScore(
                topic_id=exam.class_topics.get(code, ""),
                topic_code=code,
                points=_points(points),
                max_points=_points(max_points),
            )
            for code, points, max_points in topics
        ],
        start_face_check_id=row.start_face_check_id,
        rulebook_version=exam.rulebook_version,
        graded_at=timestamp(row.graded_at),
    )
    key = str(row.id)
    return [
        Event(ATTEMPT_SUBMITTED, submitted, key, occurred_at=row.submitted_at),
        Event(ATTEMPT_GRADED, graded, key, occurred_at=row.graded_at),
    ]
