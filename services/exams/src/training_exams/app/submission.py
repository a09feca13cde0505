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
from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select

from training.exams.v1 import exams_events_pb2 as events
from training_events import Event
from training_exams.app.catalogue import Catalogue, ExamDefinition, paper_from_json
from training_exams.domain.exam import ExamKind
from training_exams.domain.grading import grade
from training_exams.persistence.tables import attempt_answers, attempts
from training_runtime.protoconv import kind_to_proto, qualification_to_proto, timestamp
from training_runtime.vocabulary import QualificationType, TrainingKind

ATTEMPT_SUBMITTED = "training.exams.attempt.submitted.v1"
ATTEMPT_GRADED = "training.exams.attempt.graded.v1"
IN_PROGRESS, GRADED = "in_progress", "graded"


class Cause(StrEnum):
    TRAINEE = "trainee"
    DEADLINE = "deadline"
    PAGE_LEAVES = "page_leaves"


KIND_PROTO = {k: events.ExamKind.Value(f"EXAM_KIND_{k.name}") for k in ExamKind}
CAUSE_PROTO = {c: events.SubmissionCause.Value(f"SUBMISSION_CAUSE_{c.name}") for c in Cause}


async def lock_attempt(session: Any, attempt_id: uuid.UUID) -> Any:
    return (await session.execute(select(attempts).where(attempts.c.id == attempt_id).with_for_update())).one_or_none()


async def answers_of(session: Any, attempt_id: uuid.UUID) -> dict[int, tuple[int, ...]]:
    rows = (
        await session.execute(
            select(attempt_answers.c.position, attempt_answers.c.selected).where(
                attempt_answers.c.attempt_id == attempt_id
            )
        )
    ).all()
    return {r.position: tuple(r.selected) for r in rows}


def _points(hundredths: int) -> float:
    return hundredths / 100


async def close_attempt(
    session: Any,
    emit: Callable[[Event], Awaitable[None]],
    catalogue: Catalogue,
    row: Any,
    cause: Cause,
    now: datetime,
) -> Any:
    """Grade the locked, in-progress attempt `row`, store the result and emit both events."""
    exam = await catalogue.exam(row.exam_id)
    assert exam is not None, f"attempt {row.id} names exam {row.exam_id}, which is gone"
    snapshot = await catalogue.snapshot(row.bank_version_id)
    answers = await answers_of(session, row.id)
    result = grade(
        paper_from_json(row.paper), snapshot, answers, partial_credit=exam.partial_credit, pass_mark=row.pass_mark
    )
    # An attempt closed for its deadline was submitted at the deadline, whenever the sweeper ran.
    submitted_at = min(now, row.deadline) if cause is Cause.DEADLINE else now
    updated = (
        await session.execute(
            attempts.update()
            .where(attempts.c.id == row.id, attempts.c.status == IN_PROGRESS)
            .values(
                status=GRADED,
                submitted_at=submitted_at,
                cause=cause.value,
                graded_at=now,
                score=result.score,
                passed=result.passed,
                topics=[{"topic": t.topic, "points": t.points, "max_points": t.max_points} for t in result.topics],
                answered=sum(1 for selected in answers.values() if selected),
            )
            .returning(*attempts.c)
        )
    ).one()
    for event in attempt_events(updated, exam, [(t.topic, t.points, t.max_points) for t in result.topics]):
        await emit(event)
    return updated


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
