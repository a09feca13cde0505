"""NATS SIGKILLed in the middle of the flow and restarted on the same port and store: every service
reports NOT_SERVING while it is gone, study goes on (its facts wait in the outboxes), the services
reconnect by themselves, every relay publishes what waited, every consumer resumes where it
stopped, and nothing is lost or doubled."""

from __future__ import annotations

import asyncio

import pytest

from training_testkit import wait_until

from .cohort import Cohort
from .ledgers import assert_ledgers_agree, outbox_backlog

pytestmark = pytest.mark.slow


async def test_nats_killed_and_restarted_mid_flow_loses_and_doubles_nothing(whole, staff) -> None:
    platform = whole
    cohort = await Cohort.enroll(staff, 3)
    journeys = asyncio.create_task(cohort.run(retry_steps=False))
    await cohort.reached["studying"].wait()

    platform.nats.kill()
    await platform.wait_health({name: "NOT_SERVING" for name in platform.services})
    await wait_until(lambda: outbox_backlog(platform, "learning"), what="study credited while NATS is down")
    platform.nats.start()
    await platform.all_serving()

    await journeys
    await assert_ledgers_agree(platform, cohort)
