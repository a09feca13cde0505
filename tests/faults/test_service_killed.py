"""Services SIGKILLed in the middle of the flow and started again, together, while trainees study:
learning (heartbeats in flight, credited hours in its outbox), certificates (its consumers taking in
enrollments and classes) and supervision (consumers between commit and ack, face-check and
enrollment records being pushed). Nothing committed is lost, nothing is applied twice, and every
outbox, consumer and push queue drains."""

from __future__ import annotations

import asyncio

import pytest

from .cohort import Cohort
from .ledgers import assert_ledgers_agree

pytestmark = pytest.mark.slow


async def test_services_killed_and_restarted_mid_flow_lose_and_double_nothing(whole, staff) -> None:
    platform = whole
    cohort = await Cohort.enroll(staff, 3)
    journeys = asyncio.create_task(cohort.run())

    await cohort.reached["studying"].wait()
    killed = ("learning", "certificates", "supervision")
    for name in killed:
        platform.kill(name)
    await asyncio.gather(*(platform.restart(name) for name in killed))

    await journeys
    await assert_ledgers_agree(platform, cohort)
