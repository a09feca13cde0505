"""Reason codes: why an interval was credited or not, and why a session paused or ended.

Every ledger entry and every heartbeat answer carries one. docs/learning.md explains each; the
codes are stable API (clients and regulators read them), so never rename one.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    # Credited.
    VERIFIED = "VERIFIED"
    # Heartbeats that open an interval rather than close one.
    BASELINE = "BASELINE"
    # Interval verdicts that credit nothing.
    PLAYBACK_RATE = "PLAYBACK_RATE"
    FOCUS_LOST = "FOCUS_LOST"
    PLAYBACK_PAUSED = "PLAYBACK_PAUSED"
    POSITION_MISMATCH = "POSITION_MISMATCH"
    SEEK_PAST_FURTHEST = "SEEK_PAST_FURTHEST"
    POSITION_OUT_OF_RANGE = "POSITION_OUT_OF_RANGE"
    CLIENT_CLOCK_AHEAD = "CLIENT_CLOCK_AHEAD"
    IDLE_GAP = "IDLE_GAP"
    HEARTBEAT_REPLAYED = "HEARTBEAT_REPLAYED"
    HEARTBEAT_OUT_OF_ORDER = "HEARTBEAT_OUT_OF_ORDER"
    STUDY_PAUSED = "STUDY_PAUSED"
    SESSION_ENDED = "SESSION_ENDED"
    # Verified time lost because its bracket did not close with a passed face check.
    FACE_CHECK_FAILED = "FACE_CHECK_FAILED"
    FACE_CHECK_MISSED = "FACE_CHECK_MISSED"
    NO_CLOSING_FACE_CHECK = "NO_CLOSING_FACE_CHECK"
    SESSION_HANDED_OVER = "SESSION_HANDED_OVER"
    SESSION_REPLACED = "SESSION_REPLACED"
    SESSION_ABANDONED = "SESSION_ABANDONED"
    COURSE_WITHDRAWN = "COURSE_WITHDRAWN"
    HOURS_FROZEN = "HOURS_FROZEN"
    # Verified time beyond what may be credited.
    LESSON_FULLY_CREDITED = "LESSON_FULLY_CREDITED"
    DAILY_CAP_REACHED = "DAILY_CAP_REACHED"
    # Entries made by people.
    MANUAL_CORRECTION = "MANUAL_CORRECTION"
    INVALIDATED = "INVALIDATED"
    PROXY_LEARNING_CONFIRMED = "PROXY_LEARNING_CONFIRMED"
    # Session states.
    STUDYING = "STUDYING"
    ENDED_BY_TRAINEE = "ENDED_BY_TRAINEE"
    IDLE_TIMEOUT = "IDLE_TIMEOUT"
