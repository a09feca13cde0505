"""The provincial platform down for longer than supervision's retry budget while a class studies,
is examined and certified, then back: the records waited in supervision (none lost, none sent out
of turn), the ones out of attempts are on the failed-push list, and once the province answers and
the operator retries them the whole backlog reaches it, each trainee's records in sequence, once.

"Long" is measured in attempts, not wall time: the simulator's fault switch stays on until every
trainee's oldest waiting record has used up PUSH_MAX_ATTEMPTS."""

from __future__ import annotations

import pytest

from training.supervision.v1 import supervision_pb2 as spb
from training_testkit import wait_until

from .cohort import Cohort
from .ledgers import assert_ledgers_agree, province_records
from .platform import PUSH_MAX_ATTEMPTS

pytestmark = pytest.mark.slow


async def test_a_long_province_outage_keeps_every_record_and_the_backlog_drains_in_order(whole, staff) -> None:
    platform = whole
    cohort = await Cohort.enroll(staff, 3)
    keys = [f"trainee:{t.person.user_id}" for t in cohort.trainees]
    before = {key: len(province_records(platform, key.split(":")[1])) for key in keys}

    platform.province.set_faults(fail_ratio=1.0)
    await cohort.run(retry_steps=False)
    assert cohort.failed_calls == []  # the province is not on any trainee's path

    async def out_of_attempts() -> bool:
        rows = await platform.query(
            "supervision",
            "SELECT DISTINCT order_key FROM push_records WHERE status = 'failed' AND attempts >= $1",
            PUSH_MAX_ATTEMPTS,
        )
        return set(keys) <= {row["order_key"] for row in rows}

    await wait_until(out_of_attempts, timeout=60, what="every trainee's records to run out of attempts")
    assert {key: len(province_records(platform, key.split(":")[1])) for key in keys} == before

    platform.province.set_faults(fail_ratio=0)
    retried = await staff.supervision.RetryFailedPushes(
        spb.RetryFailedPushesRequest(), metadata=staff.operator.metadata
    )
    assert retried.requeued >= len(keys)
    await assert_ledgers_agree(platform, cohort)
