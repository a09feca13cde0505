"""Mapping study-session rows to the domain's `SessionState` and runs to JSON, and back."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from training_learning.domain.reasons import Reason
from training_learning.domain.session import Run, SessionState, Status, Verdict


def run_to_json(run: Run | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {
        "verdict": run.verdict.value,
        "reason": run.reason.value,
        "started_at": run.started_at.isoformat(),
        "ended_at": run.ended_at.isoformat(),
        "position_from": run.position_from,
        "position_to": run.position_to,
        "first_seq": run.first_seq,
        "last_seq": run.last_seq,
        "seconds": run.seconds,
        "wall_seconds": run.wall_seconds,
    }


def run_from_json(raw: dict[str, Any] | None) -> Run | None:
    if raw is None:
        return None
    return Run(
        verdict=Verdict(raw["verdict"]),
        reason=Reason(raw["reason"]),
        started_at=datetime.fromisoformat(raw["started_at"]),
        ended_at=datetime.fromisoformat(raw["ended_at"]),
        position_from=float(raw["position_from"]),
        position_to=float(raw["position_to"]),
        first_seq=int(raw["first_seq"]),
        last_seq=int(raw["last_seq"]),
        seconds=float(raw["seconds"]),
        wall_seconds=float(raw["wall_seconds"]),
    )


def state_from_row(row: Any) -> SessionState:
    return SessionState(
        status=Status(row.status),
        status_reason=Reason(row.status_reason),
        lesson_duration=row.lesson_duration,
        furthest_position=row.furthest_position,
        credited_furthest=row.credited_furthest,
        client_offset_seconds=row.client_offset_seconds,
        last_seq=row.last_seq,
        base_at=row.base_at,
        base_position=row.base_position,
        base_seq=row.base_seq,
        run=run_from_json(row.run),
        pending_seconds=row.pending_seconds,
        next_check_due_at=row.next_check_due_at,
        check_seed=row.check_seed,
        checks_scheduled=row.checks_scheduled,
        random_checks_passed=row.random_checks_passed,
    )


def state_values(state: SessionState) -> dict[str, Any]:
    """Column values of `state` for an INSERT or UPDATE of study_sessions."""
    return {
        "status": state.status.value,
        "status_reason": state.status_reason.value,
        "lesson_duration": state.lesson_duration,
        "furthest_position": state.furthest_position,
        "credited_furthest": state.credited_furthest,
        "client_offset_seconds": state.client_offset_seconds,
        "last_seq": state.last_seq,
        "base_at": state.base_at,
        "base_position": state.base_position,
        "base_seq": state.base_seq,
        "run": run_to_json(state.run),
        "pending_seconds": state.pending_seconds,
        "next_check_due_at": state.next_check_due_at,
        "check_seed": state.check_seed,
        "checks_scheduled": state.checks_scheduled,
        "random_checks_passed": state.random_checks_passed,
    }


@dataclass(frozen=True)
class SessionFacts:
    """What never changes about a session: whose it is, what it studies, under which rules."""

    session_id: uuid.UUID
    enrollment_id: uuid.UUID
    trainee_id: uuid.UUID
    lesson_id: uuid.UUID
    course_id: uuid.UUID
    topic_id: uuid.UUID
    device_id: str
    rulebook_version: str
    opening_face_check_id: str

    @classmethod
    def of(cls, row: Any) -> SessionFacts:
        return cls(
            session_id=row.id,
            enrollment_id=row.enrollment_id,
            trainee_id=row.trainee_id,
            lesson_id=row.lesson_id,
            course_id=row.course_id,
            topic_id=row.topic_id,
            device_id=row.device_id,
            rulebook_version=row.rulebook_version,
            opening_face_check_id=row.opening_face_check_id,
        )
