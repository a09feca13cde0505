"""Services SIGKILLed in the middle of the flow and started again: learning while trainees study
(heartbeats in flight, credited hours in its outbox), then certificates and supervision while
results and certificates travel (consumers between commit and ack, pushes in flight). Nothing
committed is lost, nothing is applied twice, and every outbox, consumer and push queue drains."""

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
    platform.kill("learning")
    await platform.restart("learning")

    await cohort.reached["graded"].wait()
    platform.kill("certificates")
    platform.kill("supervision")
    await asyncio.gather(platform.restart("certificates"), platform.restart("supervision"))

    await journeys
    await assert_ledgers_agree(platform, cohort)
