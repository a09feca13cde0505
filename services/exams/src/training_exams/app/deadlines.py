"""Submitting attempts whose time is up, on the server, whether or not the client is still there.

Deadlines live in the attempts table, so a restarted (or another) replica finds every overdue
attempt; `FOR UPDATE SKIP LOCKED` lets replicas sweep side by side without submitting one twice,
and an attempt the trainee is submitting at that moment is simply skipped.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select

from training_exams.app.catalogue import Catalogue
from training_exams.app.submission import Cause, answers_by_attempt, close_attempts
from training_exams.persistence.statements import IN_PROGRESS
from training_exams.persistence.tables import attempts
from training_runtime.db import UnitOfWork

log = logging.getLogger(__name__)


class DeadlineSweeper:
    def __init__(self, uow: UnitOfWork, catalogue: Catalogue, *, interval_seconds: float, batch: int) -> None:
        self._uow = uow
        self._catalogue = catalogue
        self._interval = interval_seconds
        self._batch = batch

    async def sweep_once(self) -> int:
        """Submit up to one batch of overdue attempts; returns how many."""
        async with self._uow.begin() as tx:
            now = tx.now()
            overdue = (
                await tx.session.execute(
                    select(attempts)
                    .where(attempts.c.status == IN_PROGRESS, attempts.c.deadline <= now)
                    .order_by(attempts.c.deadline)
                    .limit(self._batch)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if overdue:
                answers = await answers_by_attempt(tx.session, [row.id for row in overdue])
                closing = [(row, answers.get(row.id, []), Cause.DEADLINE) for row in overdue]
                await close_attempts(tx.session, tx.emit, self._catalogue, closing, now)
        return len(overdue)

    async def run(self) -> None:
        while True:
            submitted = await self.sweep_once()
            if submitted:
                log.info("submitted %d attempts at their deadline", submitted)
            if submitted < self._batch:
                await asyncio.sleep(self._interval)
