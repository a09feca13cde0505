"""Heartbeats with group commit.

Every heartbeat waits in a queue; one writer takes whatever has queued (up to the batch maximum),
locks the sessions concerned (in id order, so writers on several replicas cannot deadlock), judges
each heartbeat in arrival order with the pure rules, and stores the heartbeats, the new session
states and any closed runs in one transaction. Only after that commit is each heartbeat answered.
A crash therefore loses only heartbeats that were never confirmed, and credited time (which is only
ever written by a passed face check's own transaction) is never at risk.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update

from training_learning.app.ledger import Ledger
from training_learning.app.views import AckView, demand
from training_learning.domain import session as rules_of_session
from training_learning.domain.session import Heartbeat, Outcome, Status
from training_learning.persistence.state import STATE_COLUMNS, SessionFacts, state_from_row, state_values
from training_learning.persistence.tables import heartbeats, lesson_progress, study_sessions
from training_rulebook import RulebookSet
from training_runtime.clock import Clock
from training_runtime.db import UnitOfWork
from training_runtime.errors import DomainError, NotFound, Validator

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BeatIn:
    trainee_id: str
    session_id: str
    sequence: int
    position: float
    rate: float
    focused: bool
    client_time: datetime | None


@dataclass
class _Item:
    beat: BeatIn
    received_at: datetime
    future: asyncio.Future[AckView]
    session_uuid: uuid.UUID | None = None


def validate(beat: BeatIn) -> uuid.UUID:
    check = Validator()
    sid = None
    try:
        sid = uuid.UUID(beat.session_id)
    except (ValueError, AttributeError, TypeError):
        check.add("heartbeat.session_id", "must be a UUID" if beat.session_id else "is required")
    if beat.sequence < 1:
        check.add("heartbeat.sequence", "must be 1 or more")
    if not 0 <= beat.position <= 24 * 3600:
        check.add("heartbeat.position_seconds", "must be between 0 and 86400")
    if not 0 <= beat.rate <= 16:
        check.add("heartbeat.playback_rate", "must be between 0 and 16")
    if beat.client_time is None:
        check.add("heartbeat.client_time", "is required")
    check.check()
    assert sid is not None
    return sid


class HeartbeatBatcher:
    def __init__(self, uow: UnitOfWork, clock: Clock, rulebooks: RulebookSet, *, max_batch: int) -> None:
        self._uow = uow
        self._clock = clock
        self._rulebooks = rulebooks
        self._max_batch = max_batch
        self._queue: list[_Item] = []
        self._wakeup = asyncio.Event()

    async def submit(self, beat: BeatIn) -> AckView:
        """Queue one heartbeat and wait until it is stored and judged."""
        sid = validate(beat)
        future: asyncio.Future[AckView] = asyncio.get_running_loop().create_future()
        self._queue.append(_Item(beat=beat, received_at=self._clock.now(), future=future, session_uuid=sid))
        self._wakeup.set()
        return await future

    async def run(self) -> None:
        """The writer loop (a background job of the service)."""
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                items, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
                try:
                    await self._process(items)
                except asyncio.CancelledError:
                    for item in items:
                        if not item.future.done():
                            item.future.cancel()
                    raise
                except Exception as exc:
                    log.warning("heartbeat batch of %d failed: %s", len(items), exc)
                    failure = exc if isinstance(exc, DomainError) else None
                    for item in items:
                        if not item.future.done():
                            item.future.set_exception(failure or exc)

    async def _process(self, items: list[_Item]) -> None:
        ids = sorted({i.session_uuid for i in items if i.session_uuid is not None})
        acks: dict[int, AckView] = {}
        errors: dict[int, Exception] = {}
        async with self._uow.begin() as tx:
            rows = {
                r.id: r
                for r in (
                    await tx.session.execute(
                        select(study_sessions)
                        .where(study_sessions.c.id.in_(ids))
                        .order_by(study_sessions.c.id)
                        .with_for_update()
                    )
                ).all()
            }
            credited = {
                (r.enrollment_id, r.lesson_id): r.credited_seconds
                for r in (
                    await tx.session.execute(
                        select(
                            lesson_progress.c.enrollment_id,
                            lesson_progress.c.lesson_id,
                            lesson_progress.c.credited_seconds,
                        ).where(
                            lesson_progress.c.enrollment_id.in_({r.enrollment_id for r in rows.values()}),
                            lesson_progress.c.lesson_id.in_({r.lesson_id for r in rows.values()}),
                        )
                    )
                ).all()
            }
            states = {sid: state_from_row(row) for sid, row in rows.items()}
            changed: set[uuid.UUID] = set()
            beat_rows: list[dict[str, Any]] = []
            outcomes: dict[uuid.UUID, list[Outcome]] = defaultdict(list)
            for index, item in enumerate(items):
                row = rows.get(item.session_uuid)  # type: ignore[arg-type]
                if row is None or str(row.trainee_id) != item.beat.trainee_id:
                    errors[index] = NotFound("study session", item.beat.session_id)
                    continue
                rules = self._rulebooks.version(row.rulebook_version)
                beat = Heartbeat(
                    sequence=item.beat.sequence,
                    position=item.beat.position,
                    rate=item.beat.rate,
                    focused=item.beat.focused,
                    client_time=item.beat.client_time,  # type: ignore[arg-type]
                    received_at=item.received_at,
                )
                outcome = rules_of_session.apply_heartbeat(states[row.id], beat, rules)
                states[row.id] = outcome.state
                if outcome.changed:
                    changed.add(row.id)
                if outcome.closed or outcome.reject_pending:
                    outcomes[row.id].append(outcome)
                beat_rows.append(
                    {
                        "session_id": row.id,
                        "sequence": beat.sequence,
                        "received_at": beat.received_at,
                        "position": beat.position,
                        "rate": beat.rate,
                        "focused": beat.focused,
                        "client_time": beat.client_time,
                        "verdict": outcome.verdict.value,
                        "reason": outcome.reason.value,
                    }
                )
                acks[index] = AckView(
                    session_id=str(row.id),
                    sequence=beat.sequence,
                    verdict=outcome.verdict.value,
                    reason=outcome.reason.value,
                    status=outcome.state.status,
                    status_reason=outcome.state.status_reason.value
                    if outcome.state.status is not Status.ACTIVE
                    else "",
                    face_check=demand(outcome.state, rules, item.received_at),
                    pending_seconds=outcome.state.pending_seconds,
                    lesson_credited_seconds=credited.get((row.enrollment_id, row.lesson_id), 0.0),
                )
            if beat_rows:
                await tx.session.execute(heartbeats.insert(), beat_rows)
            if changed:
                await tx.session.execute(
                    update(study_sessions)
                    .where(study_sessions.c.id == bindparam("b_id"))
                    .values({c: bindparam(f"b_{c}") for c in (*STATE_COLUMNS, "last_activity_at")}),
                    [
                        {
                            "b_id": sid,
                            "b_last_activity_at": max(i.received_at for i in items if i.session_uuid == sid),
                            **{f"b_{k}": v for k, v in state_values(states[sid]).items()},
                        }
                        for sid in sorted(changed)
                    ],
                )
            if outcomes:
                ledger = Ledger(tx.session, tx.now(), tx.emit)
                for sid, session_outcomes in outcomes.items():
                    rules = self._rulebooks.version(rows[sid].rulebook_version)
                    for outcome in session_outcomes:
                        await ledger.apply(SessionFacts.of(rows[sid]), outcome, rules)
        for index, item in enumerate(items):
            if item.future.done():
                continue
            if index in errors:
                item.future.set_exception(errors[index])
            else:
                item.future.set_result(acks[index])
