"""A study session as a pure state machine: heartbeats, face-check outcomes and endings in, verdicts
and closed runs out. No I/O: the application layer loads the state, calls these functions under the
session's row lock, and stores what they return.

Time accrues in *runs*: consecutive heartbeat intervals with the same verdict. A run of verified
intervals is *pending* until the next passed face check closes its bracket (then it is credited) or
a failed, missed or absent check ends the bracket (then it is rejected). A rejected run is final as
soon as it closes. See docs/learning.md for the rules and reason codes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from training_learning.domain.reasons import Reason
from training_rulebook import Rulebook


class Status(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"


class Verdict(StrEnum):
    BASELINE = "baseline"
    PENDING = "pending"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Run:
    """Consecutive intervals with one verdict; `seconds` is creditable time (pending) or wall time (rejected)."""

    verdict: Verdict
    reason: Reason
    started_at: datetime
    ended_at: datetime
    position_from: float
    position_to: float
    first_seq: int
    last_seq: int
    seconds: float
    wall_seconds: float


@dataclass(frozen=True)
class SessionState:
    """What the rules need to know about a session; persisted as columns of `study_sessions`."""

    status: Status
    status_reason: Reason
    lesson_duration: int
    # Furthest position credited or pending in this bracket chain; intervals must start at or before it.
    furthest_position: float
    # Furthest position credited so far (where the chain falls back to when a bracket is rejected).
    credited_furthest: float
    # Seconds between the player's clock and ours at start (ours minus theirs).
    client_offset_seconds: float
    last_seq: int = 0
    # The previous accepted heartbeat (None after a start or resume: the next one is a baseline).
    base_at: datetime | None = None
    base_position: float | None = None
    base_seq: int | None = None
    run: Run | None = None
    # Verified seconds waiting for the bracket to close (closed pending runs plus the open one).
    pending_seconds: float = 0.0
    next_check_due_at: datetime | None = None
    check_seed: str = ""
    checks_scheduled: int = 0
    random_checks_passed: int = 0


@dataclass(frozen=True)
class Heartbeat:
    sequence: int
    position: float
    rate: float
    focused: bool
    client_time: datetime
    received_at: datetime


@dataclass(frozen=True)
class Outcome:
    """The result of applying one event to a session."""

    state: SessionState
    verdict: Verdict
    reason: Reason
    # Runs that closed: pending ones join the bracket, rejected ones go to the ledger.
    closed: list[Run] = field(default_factory=list)
    # Set when every pending run of the bracket must now be rejected, with this reason.
    reject_pending: Reason | None = None
    # Set when the bracket closed with a passed check: every pending run is to be credited.
    credit_pending: bool = False
    # Whether the heartbeat changed the state at all (replays and stale heartbeats do not).
    changed: bool = True


def face_check_deadline(state: SessionState, rules: Rulebook) -> datetime | None:
    if state.next_check_due_at is None:
        return None
    return state.next_check_due_at + timedelta(seconds=rules.face_checks.response_seconds)


def face_check_due(state: SessionState, now: datetime) -> bool:
    if state.status is Status.PAUSED:
        return True
    return state.status is Status.ACTIVE and state.next_check_due_at is not None and now >= state.next_check_due_at


def schedule_next_check(state: SessionState, rules: Rulebook, *, now: datetime, position: float) -> SessionState:
    """Draw the next random check: between the minimum and maximum interval after `now`, and early
    enough to fall inside the lesson while the session still owes its minimum of random checks.
    The draw is reproducible from the session's seed and the draw's number."""
    fc = rules.face_checks
    lower = fc.min_interval_minutes * 60
    upper = fc.max_interval_minutes * 60
    if state.random_checks_passed < fc.min_random_per_lesson:
        remaining = max(0.0, state.lesson_duration - position)
        upper = min(upper, max(lower, remaining - fc.response_seconds))
    draw = random.Random(f"{state.check_seed}:{state.checks_scheduled}").uniform(lower, max(lower, upper))
    return replace(
        state,
        next_check_due_at=now + timedelta(seconds=draw),
        checks_scheduled=state.checks_scheduled + 1,
    )


def _tolerance(rules: Rulebook, dt: float) -> float:
    hb = rules.heartbeats
    return max(hb.position_tolerance_seconds, hb.position_tolerance_ratio * dt)


def judge_interval(
    state: SessionState, rules: Rulebook, *, dt: float, p0: float, p1: float, beat: Heartbeat
) -> tuple[Reason, float]:
    """The verdict on one interval between accepted heartbeats and the seconds it may credit."""
    hb = rules.heartbeats
    tolerance = _tolerance(rules, dt)
    dp = p1 - p0
    if abs(beat.rate - 1.0) > hb.rate_tolerance:
        return Reason.PLAYBACK_RATE, 0.0
    if not beat.focused:
        return Reason.FOCUS_LOST, 0.0
    if p1 > state.lesson_duration + hb.position_tolerance_seconds:
        return Reason.POSITION_OUT_OF_RANGE, 0.0
    if p0 > state.furthest_position + hb.position_tolerance_seconds:
        return Reason.SEEK_PAST_FURTHEST, 0.0
    if dp > dt + tolerance:
        if p1 > state.furthest_position + tolerance:
            return Reason.SEEK_PAST_FURTHEST, 0.0
        return Reason.POSITION_MISMATCH, 0.0
    if abs(dp) <= hb.position_tolerance_seconds and dt > hb.position_tolerance_seconds:
        return Reason.PLAYBACK_PAUSED, 0.0
    if abs(dp - dt) > tolerance:
        return Reason.POSITION_MISMATCH, 0.0
    # Credit the overlap of content and wall time, never more than either.
    return Reason.VERIFIED, max(0.0, min(dt, dp))


def _extend(
    run: Run | None,
    verdict: Verdict,
    reason: Reason,
    *,
    beat: Heartbeat,
    state: SessionState,
    seconds: float,
    wall: float,
) -> tuple[Run, Run | None]:
    """Add one interval to the open run, or close it and open a new one; returns (open, closed)."""
    assert state.base_at is not None
    assert state.base_position is not None
    assert state.base_seq is not None
    if run is not None and run.verdict is verdict and run.reason is reason:
        return (
            replace(
                run,
                ended_at=beat.received_at,
                position_to=beat.position,
                last_seq=beat.sequence,
                seconds=run.seconds + seconds,
                wall_seconds=run.wall_seconds + wall,
            ),
            None,
        )
    fresh = Run(
        verdict=verdict,
        reason=reason,
        started_at=state.base_at,
        ended_at=beat.received_at,
        position_from=state.base_position,
        position_to=beat.position,
        first_seq=state.base_seq,
        last_seq=beat.sequence,
        seconds=seconds,
        wall_seconds=wall,
    )
    return fresh, run


def close_run(state: SessionState) -> tuple[SessionState, list[Run]]:
    """Close the open run (at a face check, pause or end)."""
    if state.run is None:
        return state, []
    return replace(state, run=None), [state.run]


def _pause(state: SessionState, reason: Reason) -> SessionState:
    return replace(
        state,
        pending_seconds=0.0 if reason is not Reason.IDLE_TIMEOUT else state.pending_seconds,
        furthest_position=state.furthest_position if reason is Reason.IDLE_TIMEOUT else state.credited_furthest,
        status=Status.PAUSED,
        status_reason=reason,
        base_at=None,
        base_position=None,
        base_seq=None,
        next_check_due_at=None,
    )


def apply_heartbeat(state: SessionState, beat: Heartbeat, rules: Rulebook) -> Outcome:
    """Judge one heartbeat. Stale or replayed heartbeats change nothing; every other one moves the
    baseline, so the next interval is judged from it."""
    now = beat.received_at
    if state.status is Status.ENDED:
        return Outcome(state, Verdict.REJECTED, Reason.SESSION_ENDED, changed=False)
    if beat.sequence == state.last_seq:
        return Outcome(state, Verdict.REJECTED, Reason.HEARTBEAT_REPLAYED, changed=False)
    if beat.sequence < state.last_seq:
        return Outcome(state, Verdict.REJECTED, Reason.HEARTBEAT_OUT_OF_ORDER, changed=False)
    state = replace(state, last_seq=beat.sequence)
    if state.status is Status.PAUSED:
        return Outcome(state, Verdict.REJECTED, Reason.STUDY_PAUSED)
    if state.base_at is None or state.base_position is None:
        rebased = replace(state, base_at=now, base_position=beat.position, base_seq=beat.sequence)
        return Outcome(rebased, Verdict.BASELINE, Reason.BASELINE)

    dt = (now - state.base_at).total_seconds()
    hb = rules.heartbeats
    if dt > hb.idle_timeout_seconds:
        opened, previous = _extend(
            state.run, Verdict.REJECTED, Reason.IDLE_GAP, beat=beat, state=state, seconds=dt, wall=dt
        )
        closed = [r for r in (previous, opened) if r is not None]
        return Outcome(
            _pause(replace(state, run=None), Reason.IDLE_TIMEOUT), Verdict.REJECTED, Reason.IDLE_GAP, closed=closed
        )
    deadline = face_check_deadline(state, rules)
    if deadline is not None and now > deadline:
        opened, previous = _extend(
            state.run, Verdict.REJECTED, Reason.FACE_CHECK_MISSED, beat=beat, state=state, seconds=dt, wall=dt
        )
        closed = [r for r in (previous, opened) if r is not None]
        paused = _pause(replace(state, run=None), Reason.FACE_CHECK_MISSED)
        return Outcome(
            paused, Verdict.REJECTED, Reason.FACE_CHECK_MISSED, closed=closed, reject_pending=Reason.FACE_CHECK_MISSED
        )

    ahead = (beat.client_time - now).total_seconds() + state.client_offset_seconds
    if ahead > hb.client_clock_tolerance_seconds:
        reason, seconds = Reason.CLIENT_CLOCK_AHEAD, 0.0
    else:
        reason, seconds = judge_interval(state, rules, dt=dt, p0=state.base_position, p1=beat.position, beat=beat)
    verdict = Verdict.PENDING if reason is Reason.VERIFIED else Verdict.REJECTED
    opened, previous = _extend(state.run, verdict, reason, beat=beat, state=state, seconds=seconds, wall=max(dt, 0))
    pending = verdict is Verdict.PENDING
    # One copy of the state per heartbeat: this is the hot path of the service.
    state = replace(
        state,
        run=opened,
        pending_seconds=state.pending_seconds + seconds if pending else state.pending_seconds,
        furthest_position=max(state.furthest_position, beat.position) if pending else state.furthest_position,
        base_at=now,
        base_position=beat.position,
        base_seq=beat.sequence,
    )
    return Outcome(state, verdict, reason, closed=[previous] if previous is not None else [])


def start(
    *,
    lesson_duration: int,
    furthest_position: float,
    client_offset_seconds: float,
    seed: str,
    now: datetime,
    rules: Rulebook,
) -> SessionState:
    """A session that has just passed its start check: active, waiting for its baseline heartbeat."""
    state = SessionState(
        status=Status.ACTIVE,
        status_reason=Reason.STUDYING,
        lesson_duration=lesson_duration,
        furthest_position=furthest_position,
        credited_furthest=furthest_position,
        client_offset_seconds=client_offset_seconds,
        check_seed=seed,
    )
    return schedule_next_check(state, rules, now=now, position=furthest_position)


def face_check_passed(state: SessionState, rules: Rulebook, *, now: datetime, random_check: bool) -> Outcome:
    """A passed check closes the bracket: pending time is credited and study (re)starts."""
    state, closed = close_run(state)
    resumed = state.status is Status.PAUSED
    state = replace(
        state,
        status=Status.ACTIVE,
        status_reason=Reason.STUDYING,
        pending_seconds=0.0,
        credited_furthest=state.furthest_position,
        random_checks_passed=state.random_checks_passed + (1 if random_check and not resumed else 0),
    )
    position = state.base_position if state.base_position is not None else state.furthest_position
    state = schedule_next_check(state, rules, now=now, position=position)
    return Outcome(state, Verdict.PENDING, Reason.VERIFIED, closed=closed, credit_pending=True)


def face_check_failed(state: SessionState) -> Outcome:
    """A failed check ends the bracket: pending time is rejected and study pauses."""
    state, closed = close_run(state)
    state = _pause(state, Reason.FACE_CHECK_FAILED)
    return Outcome(
        state, Verdict.REJECTED, Reason.FACE_CHECK_FAILED, closed=closed, reject_pending=Reason.FACE_CHECK_FAILED
    )


def end(state: SessionState, reason: Reason, *, credit: bool, pending_reason: Reason) -> Outcome:
    """End the session: pending time is credited (a passed closing check) or rejected with `pending_reason`."""
    state, closed = close_run(state)
    state = replace(
        state,
        status=Status.ENDED,
        status_reason=reason,
        pending_seconds=0.0,
        next_check_due_at=None,
        base_at=None,
        base_position=None,
        base_seq=None,
    )
    if credit:
        return Outcome(state, Verdict.PENDING, Reason.VERIFIED, closed=closed, credit_pending=True)
    return Outcome(state, Verdict.REJECTED, pending_reason, closed=closed, reject_pending=pending_reason)


@dataclass(frozen=True)
class Allocation:
    """How much of a pending run is credited, and why the rest is not."""

    credited: float
    refused: float
    refused_reason: Reason | None


def allocate(seconds: float, *, lesson_room: float, daily_room: float | None) -> Allocation:
    """Credit `seconds` within what the lesson still allows and (when capped) the day still allows."""
    room = max(0.0, lesson_room)
    reason = Reason.LESSON_FULLY_CREDITED
    if daily_room is not None and daily_room < room:
        room = max(0.0, daily_room)
        reason = Reason.DAILY_CAP_REACHED
    credited = min(seconds, room)
    refused = seconds - credited
    return Allocation(credited=credited, refused=refused, refused_reason=reason if refused > 1e-9 else None)
