"""Heartbeats with group commit.

Every heartbeat waits in a queue. A dispatcher hands whatever has queued to one of a few writers
(each batch holding at most one heartbeat chain per session, so a session's heartbeats are judged in
order); a writer locks its sessions (in id order, so writers here and on other replicas cannot
deadlock), judges each heartbeat with the pure rules, and stores the heartbeats and the new session
states in one statement of one transaction. Only after that commit is each heartbeat answered. A
crash therefore loses only heartbeats that were never confirmed; credited time is written only by a
passed face check's own transaction and is never at risk here.

The hot path speaks to PostgreSQL through the transaction's asyncpg connection with array
parameters (one SELECT, one INSERT+UPDATE), because per-row statement building would cost more than
the rules themselves; the SELECT ... FOR UPDATE goes first through SQLAlchemy so that everything
runs in the one transaction it opens. Rare transitions (a closed run, a missed check) go through the ledger code.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from opentelemetry.context import Context
from sqlalchemy.ext.asyncio import AsyncConnection

from training_events import Event, add_to_outbox
from training_events.tracing import captured, restored
from training_learning.app.ledger import Ledger
from training_learning.app.views import AckView, demand
from training_learning.domain import session as rules_of_session
from training_learning.domain.session import Heartbeat, Outcome, Status
from training_learning.persistence.state import SessionFacts, run_to_json, state_from_row
from training_rulebook import RulebookSet
from training_runtime.clock import Clock
from training_runtime.db import Database
from training_runtime.errors import NotFound, Validator

log = logging.getLogger(__name__)

SOURCE = "learning"

_LOCK_SESSIONS = """
SELECT s.id, s.enrollment_id, s.trainee_id, s.lesson_id, s.course_id, s.topic_id, s.device_id,
       s.rulebook_version, s.opening_face_check_id, s.status, s.status_reason, s.lesson_duration,
       s.furthest_position, s.credited_furthest, s.client_offset_seconds, s.last_seq, s.base_at,
       s.base_position, s.base_seq, s.run::text AS run, s.pending_seconds, s.next_check_due_at, s.check_seed,
       s.checks_scheduled, s.random_checks_passed, coalesce(p.credited_seconds, 0) AS lesson_credited
FROM study_sessions s
LEFT JOIN lesson_progress p ON p.enrollment_id = s.enrollment_id AND p.lesson_id = s.lesson_id
WHERE s.id = ANY($1::uuid[])
ORDER BY s.id
FOR UPDATE OF s
"""

_STORE = """
WITH stored AS (
    INSERT INTO heartbeats (session_id, sequence, received_at, position, rate, focused, client_time, verdict, reason)
    SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::timestamptz[], $4::float8[], $5::float8[], $6::bool[],
                         $7::timestamptz[], $8::text[], $9::text[])
)
UPDATE study_sessions s
SET status = v.status, status_reason = v.status_reason, furthest_position = v.furthest_position,
    credited_furthest = v.credited_furthest, last_seq = v.last_seq, base_at = v.base_at,
    base_position = v.base_position, base_seq = v.base_seq, run = v.run::jsonb, pending_seconds = v.pending_seconds,
    next_check_due_at = v.next_check_due_at, checks_scheduled = v.checks_scheduled,
    random_checks_passed = v.random_checks_passed, last_activity_at = v.last_activity_at
FROM unnest($10::uuid[], $11::text[], $12::text[], $13::float8[], $14::float8[], $15::bigint[], $16::timestamptz[],
            $17::float8[], $18::bigint[], $19::text[], $20::float8[], $21::timestamptz[], $22::int[], $23::int[],
            $24::timestamptz[])
     AS v(id, status, status_reason, furthest_position, credited_furthest, last_seq, base_at, base_position,
          base_seq, run, pending_seconds, next_check_due_at, checks_scheduled, random_checks_passed,
          last_activity_at)
WHERE s.id = v.id
"""


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
    session_uuid: uuid.UUID
    # The caller's trace: what a heartbeat causes (credited hours, a completion) continues it.
    trace: Context


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


def _columns(rows: list[tuple[Any, ...]], width: int) -> list[list[Any]]:
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


class HeartbeatBatcher:
    def __init__(
        self, database: Database, clock: Clock, rulebooks: RulebookSet, *, max_batch: int, writers: int = 4
    ) -> None:
        self._database = database
        self._clock = clock
        self._rulebooks = rulebooks
        self._max_batch = max_batch
        self._writers = writers
        # While a writer is busy, another starts only once this many heartbeats wait.
        self._gather = max(1, min(32, max_batch // 8))
        self._queue: list[_Item] = []
        self._busy: set[uuid.UUID] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle: list[AsyncConnection] = []
        self._wakeup = asyncio.Event()

    async def submit(self, beat: BeatIn) -> AckView:
        """Queue one heartbeat and wait until it is stored and judged."""
        sid = validate(beat)
        future: asyncio.Future[AckView] = asyncio.get_running_loop().create_future()
        self._queue.append(
            _Item(beat=beat, received_at=self._clock.now(), future=future, session_uuid=sid, trace=captured())
        )
        self._wakeup.set()
        return await future

    def _take(self) -> list[_Item]:
        """The next batch: queued heartbeats of sessions no writer holds, oldest first; a session's
        later heartbeats wait behind its earlier ones."""
        batch: list[_Item] = []
        held = set(self._busy)
        rest: list[_Item] = []
        for item in self._queue:
            if item.session_uuid in held or len(batch) >= self._max_batch:
                held.add(item.session_uuid)
                rest.append(item)
            else:
                batch.append(item)
        self._queue = rest
        return batch

    async def run(self) -> None:
        """The dispatcher (a background job of the service). An idle service stores a heartbeat at
        once; a busy one lets heartbeats gather while its writers work, so each transaction carries
        many (group commit) instead of every writer committing one at a time."""
        try:
            while True:
                await self._wakeup.wait()
                self._wakeup.clear()
                while self._queue and len(self._tasks) < self._writers:
                    if self._tasks and len(self._queue) < self._gather:
                        break  # a writer will finish soon and wake us; let more heartbeats gather
                    batch = self._take()
                    if not batch:
                        break
                    sessions = {i.session_uuid for i in batch}
                    self._busy |= sessions
                    task = asyncio.create_task(self._write(batch, sessions))
                    self._tasks.add(task)
        finally:
            for task in list(self._tasks):
                task.cancel()

    async def _write(self, items: list[_Item], sessions: set[uuid.UUID]) -> None:
        connection: AsyncConnection | None = None
        try:
            # Writers keep their connections between batches: a pool checkout (and its liveness
            # ping) per batch would be most of a batch's round trips.
            connection = self._idle.pop() if self._idle else await self._database.engine.connect()
            await self._process(connection, items)
            self._idle.append(connection)
            connection = None
        except asyncio.CancelledError:
            for item in items:
                if not item.future.done():
                    item.future.cancel()
            raise
        except Exception as exc:
            log.warning("heartbeat batch of %d failed: %s", len(items), exc)
            for item in items:
                if not item.future.done():
                    item.future.set_exception(exc)
        finally:
            if connection is not None:  # broken or interrupted: never reused
                await asyncio.shield(connection.close())
            self._busy -= sessions
            self._tasks.discard(asyncio.current_task())  # type: ignore[arg-type]
            self._wakeup.set()

    async def close(self) -> None:
        """Return the writers' connections (at shutdown)."""
        while self._idle:
            await self._idle.pop().close()

    async def _process(self, connection: AsyncConnection, items: list[_Item]) -> None:
        acks: dict[int, AckView] = {}
        errors: dict[int, Exception] = {}
        # A bare connection (no ORM session): the per-transaction cost is what bounds a busy service.
        async with connection.begin():
            # The lock goes through SQLAlchemy because that is what opens the transaction: the
            # asyncpg adapter sends BEGIN lazily, with its first statement. A raw driver call
            # before that runs in autocommit, so the row locks would be gone before the store and
            # a concurrent change to the session (ended by a withdrawn course, a sweep, the
            # trainee) could be overwritten by this batch's stale state.
            result = await connection.exec_driver_sql(_LOCK_SESSIONS, (sorted({i.session_uuid for i in items}),))
            records = result.mappings().all()
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver is not None
            rows = {
                r["id"]: SimpleNamespace(**{**r, "run": json.loads(r["run"]) if r["run"] else None}) for r in records
            }
            states = {sid: state_from_row(row) for sid, row in rows.items()}
            changed: dict[uuid.UUID, datetime] = {}
            beat_rows: list[tuple[Any, ...]] = []
            transitions: dict[uuid.UUID, list[tuple[Outcome, Context]]] = defaultdict(list)
            for index, item in enumerate(items):
                row = rows.get(item.session_uuid)
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
                state = outcome.state
                states[row.id] = state
                if outcome.changed:
                    changed[row.id] = item.received_at
                if outcome.closed or outcome.reject_pending:
                    transitions[row.id].append((outcome, item.trace))
                beat_rows.append(
                    (
                        row.id,
                        beat.sequence,
                        beat.received_at,
                        beat.position,
                        beat.rate,
                        beat.focused,
                        beat.client_time,
                        outcome.verdict.value,
                        outcome.reason.value,
                    )
                )
                acks[index] = AckView(
                    session_id=str(row.id),
                    sequence=beat.sequence,
                    verdict=outcome.verdict.value,
                    reason=outcome.reason.value,
                    status=state.status,
                    status_reason=state.status_reason.value if state.status is not Status.ACTIVE else "",
                    face_check=demand(state, rules, item.received_at),
                    pending_seconds=state.pending_seconds,
                    lesson_credited_seconds=row.lesson_credited,
                )
            updates = []
            for sid, at in changed.items():
                s = states[sid]
                run = run_to_json(s.run)
                updates.append(
                    (
                        sid,
                        s.status.value,
                        s.status_reason.value,
                        s.furthest_position,
                        s.credited_furthest,
                        s.last_seq,
                        s.base_at,
                        s.base_position,
                        s.base_seq,
                        json.dumps(run) if run else None,
                        s.pending_seconds,
                        s.next_check_due_at,
                        s.checks_scheduled,
                        s.random_checks_passed,
                        at,
                    )
                )
            await driver.execute(_STORE, *_columns(beat_rows, 9), *_columns(updates, 15))
            if transitions:
                now = self._clock.now()

                async def emit(event: Event) -> None:
                    await add_to_outbox(connection, event, source=SOURCE, now=now)  # type: ignore[arg-type]

                ledger = Ledger(connection, now, emit, defer_links=True)
                for sid, outcomes in transitions.items():
                    rules = self._rulebooks.version(rows[sid].rulebook_version)
                    for outcome, trace in outcomes:
                        with restored(trace):  # its events continue the heartbeat's trace
                            await ledger.apply(SessionFacts.of(rows[sid]), outcome, rules)
                await ledger.link_pending()
        for index, item in enumerate(items):
            if item.future.done():
                continue
            if index in errors:
                item.future.set_exception(errors[index])
            else:
                item.future.set_result(acks[index])
