"""Ending sessions whose player went silent: after the rulebook's abandon time, a session ends and
its unbracketed time is rejected (SESSION_ABANDONED), so nothing stays pending for ever."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import select

from training_learning.app.ledger import Ledger
from training_learning.app.sessions import end_session, lock_session
from training_learning.domain.reasons import Reason
from training_learning.persistence.tables import study_sessions
from training_rulebook import RulebookSet
from training_runtime.clock import Clock
from training_runtime.db import UnitOfWork

log = logging.getLogger(__name__)


class Sweeper:
    def __init__(self, uow: UnitOfWork, clock: Clock, rulebooks: RulebookSet, *, interval_seconds: float) -> None:
        self._uow = uow
        self._clock = clock
        self._rulebooks = rulebooks
        self._interval = interval_seconds
        self._shortest = min(v.heartbeats.abandon_after_minutes for v in rulebooks.versions)

    async def sweep_once(self) -> int:
        """End every abandoned session; returns how many."""
        now = self._clock.now()
        async with self._uow.read() as session:
            candidates = (
                await session.execute(
                    select(study_sessions.c.id, study_sessions.c.rulebook_version, study_sessions.c.last_activity_at)
                    .where(
                        study_sessions.c.status != "ended",
                        study_sessions.c.last_activity_at < now - timedelta(minutes=self._shortest),
                    )
                    .limit(500)
                )
            ).all()
        ended = 0
        for candidate in candidates:
            rules = self._rulebooks.version(candidate.rulebook_version)
            if candidate.last_activity_at >= now - timedelta(minutes=rules.heartbeats.abandon_after_minutes):
                continue
            async with self._uow.begin() as tx:
                ledger = Ledger(tx.session, tx.now(), tx.emit)
                row = await lock_session(ledger, candidate.id)
                if row is None or row.status == "ended" or row.last_activity_at != candidate.last_activity_at:
                    continue
                await end_session(
                    ledger,
                    row,
                    self._rulebooks,
                    reason=Reason.SESSION_ABANDONED,
                    pending_reason=Reason.SESSION_ABANDONED,
                )
                ended += 1
        return ended

    async def run(self) -> None:
        while True:
            ended = await self.sweep_once()
            if ended:
                log.info("ended %d abandoned study sessions", ended)
            await asyncio.sleep(self._interval)
