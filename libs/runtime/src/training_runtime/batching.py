"""Group commit: many concurrent requests, one transaction.

A request waits in a queue (`await batcher.submit(item)`); writer tasks take whatever has queued,
up to `max_batch`, and hand it to `process`, which does the batch's work in one unit of work and
returns one outcome per item: a result, or an exception for that item alone. Each caller is
answered only after its batch has committed, so an answer never confirms uncommitted work. Under
load a transaction carries dozens of requests; alone, a request waits for nothing.

`run()` is a long-running job (`Wiring.background`). If `process` raises, every item of the batch
gets that exception.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class _Waiting(Generic[T, R]):
    item: T
    future: asyncio.Future[R]


class GroupCommit(Generic[T, R]):
    def __init__(
        self,
        process: Callable[[list[T]], Awaitable[Sequence[R | BaseException]]],
        *,
        max_batch: int,
        writers: int = 1,
        name: str = "batch",
    ) -> None:
        if max_batch < 1 or writers < 1:
            raise ValueError("max_batch and writers must be at least 1")
        self._process = process
        self._max_batch = max_batch
        self._writers = writers
        self._name = name
        self._queue: list[_Waiting[T, R]] = []
        self._ready = asyncio.Condition()

    async def submit(self, item: T) -> R:
        """Queue `item` and wait until its batch has committed; its outcome is returned or raised."""
        waiting = _Waiting[T, R](item, asyncio.get_running_loop().create_future())
        async with self._ready:
            self._queue.append(waiting)
            self._ready.notify()
        return await waiting.future

    async def run(self) -> None:
        """The writers (run as a background job of the service)."""
        await asyncio.gather(*(self._write() for _ in range(self._writers)))

    async def _write(self) -> None:
        while True:
            async with self._ready:
                await self._ready.wait_for(lambda: bool(self._queue))
                batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
            await self._commit(batch)

    async def _commit(self, batch: list[_Waiting[T, R]]) -> None:
        try:
            outcomes = await self._process([w.item for w in batch])
        except asyncio.CancelledError:
            for waiting in batch:
                waiting.future.cancel()
            raise
        except Exception as exc:
            log.warning("%s of %d failed: %r", self._name, len(batch), exc)
            outcomes = [exc] * len(batch)
        if len(outcomes) != len(batch):
            log.error("%s: %d outcomes for %d items", self._name, len(outcomes), len(batch))
            outcomes = [RuntimeError(f"{self._name} lost track of its items")] * len(batch)
        for waiting, outcome in zip(batch, outcomes, strict=True):
            if waiting.future.done():  # the caller went away
                continue
            if isinstance(outcome, BaseException):
                waiting.future.set_exception(outcome)
            else:
                waiting.future.set_result(outcome)
