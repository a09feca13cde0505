"""The push backlog as metrics: records not yet acknowledged by the province, by status, and the
age of the oldest of each (docs/operations.md lists the gauges and the alerts on them).

One query every few seconds over the open records' partial index; the gauges read the last answer.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field

from opentelemetry import metrics
from sqlalchemy import text

from training_runtime.db import UnitOfWork
from training_supervision.domain.records import PushStatus

log = logging.getLogger(__name__)

# Every status a record waits in before the province acknowledges it.
OPEN_STATUSES = (PushStatus.PENDING.value, PushStatus.SENT.value, PushStatus.FAILED.value)

_OPEN = text(
    """
    SELECT status, count(*) AS records,
           coalesce(extract(epoch FROM now() - min(created_at)), 0) AS oldest_age
    FROM push_records WHERE status <> 'acknowledged'
    GROUP BY status
    """
)


@dataclass
class BacklogStats:
    records: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OPEN_STATUSES, 0))
    oldest_age_seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(OPEN_STATUSES, 0.0))


class PushBacklog:
    def __init__(self, uow: UnitOfWork, *, interval_seconds: float = 2.0) -> None:
        self._uow = uow
        self._interval = interval_seconds
        self.stats = BacklogStats()
        self.active = False
        _MONITORS.add(self)
        _ensure_instruments()

    async def refresh(self) -> BacklogStats:
        async with self._uow.read() as connection:
            rows = (await connection.execute(_OPEN)).all()
        stats = BacklogStats()
        for row in rows:
            stats.records[row.status] = int(row.records)
            stats.oldest_age_seconds[row.status] = max(0.0, float(row.oldest_age))
        self.stats = stats
        return stats

    async def run(self) -> None:
        """Refresh until cancelled (a background job); a failed refresh keeps the last figures."""
        self.active = True
        try:
            while True:
                try:
                    await self.refresh()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.info("push backlog not measured (%s); keeping the last figures", exc)
                await asyncio.sleep(self._interval)
        finally:
            self.active = False


# Supervision instances in this process (one in production, several in tests).
_MONITORS: weakref.WeakSet[PushBacklog] = weakref.WeakSet()
_instruments_ready = False


def _observations(value: str) -> Iterable[metrics.Observation]:
    for monitor in [m for m in list(_MONITORS) if m.active]:
        figures = monitor.stats.records if value == "records" else monitor.stats.oldest_age_seconds
        for status in OPEN_STATUSES:
            yield metrics.Observation(figures[status], {"status": status})


def _ensure_instruments() -> None:
    global _instruments_ready
    if _instruments_ready:
        return
    _instruments_ready = True
    meter = metrics.get_meter("training_supervision.push")
    meter.create_observable_gauge(
        "supervision.push.backlog",
        [lambda _options: list(_observations("records"))],
        description="Records not yet acknowledged by the province, by status (pending, sent, failed)",
    )
    meter.create_observable_gauge(
        "supervision.push.oldest_age",
        [lambda _options: list(_observations("age"))],
        unit="s",
        description="Age of the oldest record not yet acknowledged by the province, by status",
    )
