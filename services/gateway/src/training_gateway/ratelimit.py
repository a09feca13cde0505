"""Per-client rate limits (token buckets) for the endpoints an attacker would hammer: login
(password guessing) and public certificate verification (enumeration).

Buckets live in this process: with N replicas behind a load balancer a client gets at most N times
the rate, which still bounds guessing (identity also locks an account after repeated failures).
The table is bounded: the least recently seen clients are forgotten first.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Depends, Request

from training_gateway.deps import client_address


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(
        self,
        *,
        per_minute: float,
        burst: int,
        max_clients: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate = per_minute / 60.0
        self._burst = float(burst)
        self._max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def acquire(self, client: str) -> float | None:
        """Take one request's token; None if allowed, else the seconds until the next token."""
        now = self._clock()
        bucket = self._buckets.pop(client, None) or _Bucket(self._burst, now)
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        self._buckets[client] = bucket
        while len(self._buckets) > self._max_clients:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / self._rate


class RateLimited(Exception):
    """A client went over a limit; answered 429 with Retry-After."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"retry after {retry_after:.1f}s")
        self.retry_after = retry_after


def rate_limit(name: str) -> Callable[..., None]:
    """A route dependency taking one token from the app's limiter `name` for the calling client."""

    def dependency(request: Request, client: str = Depends(client_address)) -> None:
        wait = request.app.state.limiters[name].acquire(client)
        if wait is not None:
            raise RateLimited(wait)

    return dependency
