"""The crediting rules as a pure state machine: each way of not studying earns nothing for the
affected interval and says why (the scenarios in test_study.py drive the same rules through the API)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from training_learning.domain.reasons import Reason
from training_learning.domain.session import (
    Heartbeat,
    SessionState,
    Status,
    Verdict,
    allocate,
    apply_heartbeat,
    end,
    face_check_failed,
    face_check_passed,
    start,
)
from training_rulebook import load_rulebook

RULES = load_rulebook("default").versions[-1]
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


class Clip:
    """A player on one session: every call sends the next heartbeat."""

    def __init__(self, duration: int = 3600, furthest: float = 0.0) -> None:
        self.state: SessionState = start(
            lesson_duration=duration,
            furthest_position=furthest,
            client_offset_seconds=0.0,
            seed="seed",
            now=T0,
            rules=RULES,
        )
        # Keep random checks out of the way unless a test wants one.
        self.state = replace(self.state, next_check_due_at=T0 + timedelta(hours=10))
        self.now = T0
        self.position = furthest
        self.seq = 0
        self.closed = []

    def beat(
        self,
        *,
        advance: float = 10,
        moved: float | None = None,
        rate: float = 1.0,
        focused: bool = True,
        skew: float = 0.0,
        seq: int | None = None,
    ):  # type: ignore[no-untyped-def]
        self.now += timedelta(seconds=advance)
        self.position += advance if moved is None else moved
        if seq is None:
            self.seq += 1
        outcome = apply_heartbeat(
            self.state,
            Heartbeat(
                sequence=self.seq if seq is None else seq,
                position=self.position,
                rate=rate,
                focused=focused,
                client_time=self.now + timedelta(seconds=skew),
                received_at=self.now,
            ),
            RULES,
        )
        self.state = outcome.state
        self.closed += outcome.closed
        return outcome


def test_honest_heartbeats_accrue_exactly_the_watched_time() -> None:
    clip = Clip()
    assert clip.beat(advance=0).verdict is Verdict.BASELINE
    for _ in range(6):
        outcome = clip.beat()
        assert (outcome.verdict, outcome.reason) == (Verdict.PENDING, Reason.VERIFIED)
    assert clip.state.pending_seconds == 60
    assert clip.state.furthest_position == 60


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"rate": 2.0, "moved": 20}, Reason.PLAYBACK_RATE),
        ({"focused": False}, Reason.FOCUS_LOST),
        ({"moved": 0}, Reason.PLAYBACK_PAUSED),
        ({"moved": 25}, Reason.SEEK_PAST_FURTHEST),
        ({"moved": -5}, Reason.POSITION_MISMATCH),
        ({"skew": 60}, Reason.CLIENT_CLOCK_AHEAD),
        ({"advance": 61}, Reason.IDLE_GAP),
    ],
)
def test_each_dishonest_interval_is_rejected_with_its_reason(kwargs, reason) -> None:  # type: ignore[no-untyped-def]
    clip = Clip()
    clip.beat(advance=0)
    clip.beat()
    outcome = clip.beat(**kwargs)
    assert (outcome.verdict, outcome.reason) == (Verdict.REJECTED, reason)
    # The verified interval before stays pending; the rejected one adds nothing.
    assert clip.state.pending_seconds == 10


def test_after_a_forward_seek_nothing_counts_until_the_player_returns() -> None:
    clip = Clip()
    clip.beat(advance=0)
    clip.beat()
    assert clip.beat(moved=300).reason is Reason.SEEK_PAST_FURTHEST
    # Watching at 1x beyond the furthest verified position is still skipping content.
    assert clip.beat().reason is Reason.SEEK_PAST_FURTHEST
    clip.position = 10
    assert clip.beat(moved=0).reason is not Reason.VERIFIED  # the jump back itself
    assert clip.beat().reason is Reason.VERIFIED
    assert clip.state.pending_seconds == 20


def test_replayed_and_out_of_order_heartbeats_change_nothing() -> None:
    clip = Clip()
    clip.beat(advance=0)
    clip.beat()
    clip.beat()
    before = clip.state
    replay = clip.beat(seq=2, advance=0, moved=0)
    assert (replay.reason, replay.changed) == (Reason.HEARTBEAT_OUT_OF_ORDER, False)
    same = clip.beat(seq=3, advance=0, moved=0)
    assert (same.reason, same.changed) == (Reason.HEARTBEAT_REPLAYED, False)
    assert clip.state == before


def test_an_idle_gap_pauses_study_but_keeps_the_verified_time_pending() -> None:
    clip = Clip()
    clip.beat(advance=0)
    clip.beat()
    outcome = clip.beat(advance=120, moved=120)
    assert outcome.reason is Reason.IDLE_GAP
    assert clip.state.status is Status.PAUSED
    assert clip.state.pending_seconds == 10
    assert clip.beat().reason is Reason.STUDY_PAUSED
    resumed = face_check_passed(clip.state, RULES, now=clip.now, random_check=False)
    assert resumed.credit_pending
    assert resumed.state.status is Status.ACTIVE


def test_a_missed_check_rejects_the_bracket_and_pauses() -> None:
    clip = Clip()
    clip.state = replace(clip.state, next_check_due_at=T0 + timedelta(seconds=30))
    clip.beat(advance=0)
    # Due at 30 s, answered by 90 s (the rulebook's 60 s to respond): until then time still accrues.
    assert all(clip.beat().reason is Reason.VERIFIED for _ in range(9))
    outcome = clip.beat()
    assert outcome.reason is Reason.FACE_CHECK_MISSED
    assert outcome.reject_pending is Reason.FACE_CHECK_MISSED
    assert clip.state.status is Status.PAUSED
    assert clip.state.pending_seconds == 0
    # The chain falls back to what was credited: nothing.
    assert clip.state.furthest_position == 0


def test_a_failed_check_rejects_the_bracket_and_a_passed_one_credits_it() -> None:
    clip = Clip()
    clip.beat(advance=0)
    clip.beat()
    failed = face_check_failed(clip.state)
    assert failed.reject_pending is Reason.FACE_CHECK_FAILED
    assert failed.state.status is Status.PAUSED
    clip = Clip()
    clip.beat(advance=0)
    clip.beat()
    passed = face_check_passed(clip.state, RULES, now=clip.now, random_check=True)
    assert passed.credit_pending
    assert [r.seconds for r in passed.closed] == [10]
    assert passed.state.credited_furthest == 10
    assert passed.state.random_checks_passed == 1


def test_ending_without_a_closing_check_rejects_the_pending_time() -> None:
    clip = Clip()
    clip.beat(advance=0)
    clip.beat()
    outcome = end(clip.state, Reason.ENDED_BY_TRAINEE, credit=False, pending_reason=Reason.NO_CLOSING_FACE_CHECK)
    assert outcome.reject_pending is Reason.NO_CLOSING_FACE_CHECK
    assert outcome.state.status is Status.ENDED
    assert apply_heartbeat(outcome.state, Heartbeat(9, 0, 1, True, T0, T0), RULES).reason is Reason.SESSION_ENDED


def test_random_checks_fall_within_the_rulebooks_window_and_inside_short_lessons() -> None:
    for seed in ("a", "b", "c", "d"):
        long = start(lesson_duration=7200, furthest_position=0, client_offset_seconds=0, seed=seed, now=T0, rules=RULES)
        gap = (long.next_check_due_at - T0).total_seconds()
        assert 3 * 60 <= gap <= 15 * 60
        short = start(lesson_duration=600, furthest_position=0, client_offset_seconds=0, seed=seed, now=T0, rules=RULES)
        assert (short.next_check_due_at - T0).total_seconds() <= 600 - RULES.face_checks.response_seconds


def test_allocation_stops_at_the_lesson_and_the_daily_cap() -> None:
    assert allocate(100, lesson_room=60, daily_room=None) == allocate(100, lesson_room=60, daily_room=1000)
    lesson = allocate(100, lesson_room=60, daily_room=None)
    assert (lesson.credited, lesson.refused, lesson.refused_reason) == (60, 40, Reason.LESSON_FULLY_CREDITED)
    daily = allocate(100, lesson_room=600, daily_room=30)
    assert (daily.credited, daily.refused, daily.refused_reason) == (30, 70, Reason.DAILY_CAP_REACHED)
    whole = allocate(100, lesson_room=600, daily_room=None)
    assert (whole.credited, whole.refused_reason) == (100, None)
