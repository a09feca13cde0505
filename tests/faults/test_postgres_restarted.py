"""PostgreSQL restarted in the middle of the flow: every service reports NOT_SERVING on grpc.health
while it is gone and SERVING again once it is back, without being restarted itself; the calls that
met the outage were answered UNAVAILABLE (safe to retry) and the trainees' retries succeed; nothing
is lost or doubled."""

from __future__ import annotations

import asyncio

import pytest

from .cohort import Cohort
from .ledgers import assert_ledgers_agree

pytestmark = pytest.mark.slow


async def test_postgres_restarted_mid_flow_services_go_not_serving_and_recover_by_themselves(whole, staff) -> None:
    platform = whole
    cohort = await Cohort.enroll(staff, 3)
    seen: dict[str, list[str]] = {name: [] for name in platform.services}
    watches = [asyncio.create_task(platform.watch_health(name, seen[name])) for name in platform.services]
    pids = {name: service.process.pid for name, service in platform.services.items() if service.process}
    journeys = asyncio.create_task(cohort.run())
    await cohort.reached["studying"].wait()

    await platform.stop_postgres()
    await platform.wait_health({name: "NOT_SERVING" for name in platform.services})
    await platform.start_postgres()
    await platform.all_serving()

    await journeys
    for watch in watches:
        watch.cancel()
    for name, statuses in seen.items():
        changes = [s for i, s in enumerate(statuses) if i == 0 or s != statuses[i - 1]]
        assert changes == ["SERVING", "NOT_SERVING", "SERVING"], f"{name}: {changes}"
    assert {name: service.process.pid for name, service in platform.services.items() if service.process} == pids
    assert all(failure.split(":")[1].split()[0] == "UNAVAILABLE" for failure in cohort.failed_calls), (
        cohort.failed_calls
    )
    await assert_ledgers_agree(platform, cohort)
