"""Certificates' tests: helpers to see that every event has been consumed."""

from __future__ import annotations

import nats
import pytest

from training_devstack.embedded import NatsServer
from training_testkit import wait_until

DURABLES = {
    "TRAINING_COURSES": "certificates-courses",
    "TRAINING_LEARNING": "certificates-learning",
    "TRAINING_EXAMS": "certificates-exams",
    "TRAINING_IDENTITY": "certificates-institutions",
}


class Backlog:
    def __init__(self, nats_url: str) -> None:
        self.nats_url = nats_url

    async def pending(self) -> int:
        client = await nats.connect(self.nats_url)
        try:
            js = client.jetstream()
            total = 0
            for stream, durable in DURABLES.items():
                info = await js.consumer_info(stream, durable)
                total += int(info.num_pending or 0) + int(info.num_ack_pending or 0)
            return total
        finally:
            await client.close()

    async def drained(self) -> None:
        """Wait until certificates' consumers have processed everything published so far."""

        async def empty() -> bool:
            return await self.pending() == 0

        await wait_until(empty, timeout=20, what="certificates' consumers to drain")


@pytest.fixture
def backlog(nats_server: NatsServer, certificates_app) -> Backlog:  # type: ignore[no-untyped-def]
    return Backlog(nats_server.url)
