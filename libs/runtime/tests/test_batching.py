"""Group commit: concurrent requests share one batch, each caller gets its own outcome, and a failed
batch fails every request in it (and nothing else)."""

from __future__ import annotations

import asyncio

import pytest

from training_runtime.batching import GroupCommit


class Recorder:
    def __init__(self, fail_batch: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.fail_batch = fail_batch
        self.release = asyncio.Event()

    async def process(self, items: list[int]) -> list[int | BaseException]:
        self.batches.append(items)
        await self.release.wait()
        if self.fail_batch:
            raise ConnectionError("the database went away")
        return [ValueError(f"{i} is odd") if i % 2 else i * 10 for i in items]


async def test_requests_waiting_together_share_a_batch_and_get_their_own_outcomes() -> None:
    recorder = Recorder()
    batcher = GroupCommit(recorder.process, max_batch=100)
    writer = asyncio.create_task(batcher.run())
    try:
        first = asyncio.create_task(batcher.submit(0))
        while not recorder.batches:  # until the writer holds the first request alone, in process()
            await asyncio.sleep(0)
        rest = [asyncio.create_task(batcher.submit(i)) for i in range(1, 6)]
        recorder.release.set()
        assert await first == 0
        outcomes = await asyncio.gather(*rest, return_exceptions=True)
    finally:
        writer.cancel()

    assert recorder.batches == [[0], [1, 2, 3, 4, 5]]
    assert [o if isinstance(o, int) else str(o) for o in outcomes] == [
        "1 is odd",
        20,
        "3 is odd",
        40,
        "5 is odd",
    ]


async def test_a_batch_is_at_most_max_batch_long() -> None:
    recorder = Recorder()
    recorder.release.set()
    batcher = GroupCommit(recorder.process, max_batch=2)
    submitted = [asyncio.create_task(batcher.submit(i * 2)) for i in range(5)]
    writer = asyncio.create_task(batcher.run())
    try:
        assert await asyncio.gather(*submitted) == [0, 20, 40, 60, 80]
    finally:
        writer.cancel()

    assert [len(b) for b in recorder.batches] == [2, 2, 1]


async def test_a_failed_batch_fails_its_requests_and_the_writer_carries_on() -> None:
    recorder = Recorder(fail_batch=True)
    recorder.release.set()
    batcher = GroupCommit(recorder.process, max_batch=10)
    writer = asyncio.create_task(batcher.run())
    try:
        with pytest.raises(ConnectionError):
            await batcher.submit(2)
        recorder.fail_batch = False
        assert await batcher.submit(4) == 40
    finally:
        writer.cancel()
