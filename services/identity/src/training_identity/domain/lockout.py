"""Login lock-out: N failed logins within a window lock the account for a while."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lock_for: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class FailureOutcome:
    recent_failures: list[datetime]
    locked_until: datetime | None


def register_failure(recent: list[datetime], now: datetime, policy: LockoutPolicy) -> FailureOutcome:
    """Record a failed login; lock when the failures inside the window reach the limit."""
    window_start = now - policy.window
    failures = [t for t in recent if t > window_start] + [now]
    if len(failures) >= policy.max_failures:
        return FailureOutcome(recent_failures=[], locked_until=now + policy.lock_for)
    return FailureOutcome(recent_failures=failures, locked_until=None)


def is_locked(locked_until: datetime | None, now: datetime) -> bool:
    return locked_until is not None and locked_until > now
