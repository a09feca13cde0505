"""A rolling restart under load: each service in turn gets SIGTERM, shuts down gracefully and is
started again, while a class studies, sits its final exam and is certified, and every service
keeps answering a steady stream of reads. A client that calls as the documented retry policy says
(training_runtime.clients.client_channel: deadline, wait for ready, gRPC retries of UNAVAILABLE)
sees not one failed call, and nothing is lost or doubled."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import grpc
import pytest

from training.certificates.v1 import certificates_pb2 as cpb
from training.courses.v1 import courses_pb2 as crpb
from training.exams.v1 import exams_pb2 as xpb
from training.identity.v1 import identity_pb2 as ipb
from training.learning.v1 import learning_pb2 as lpb
from training.supervision.v1 import supervision_pb2 as spb
from training_testkit import wait_until

from .cohort import Cohort
from .ledgers import assert_ledgers_agree

pytestmark = pytest.mark.slow

# Identity first and learning second, while the trainees study; the rest as results travel.
ORDER = ("identity", "learning", "courses", "exams", "certificates", "supervision")


async def test_a_rolling_restart_under_load_fails_no_call_of_a_client_that_retries_as_documented(whole, staff) -> None:
    platform = whole
    cohort = await Cohort.enroll(staff, 3)
    trainee, admin, operator = cohort.trainees[0], cohort.opened.school.admin, staff.operator
    reads: dict[str, Callable[[], Awaitable[object]]] = {
        "identity": lambda: staff.identity.GetPublicKeys(ipb.GetPublicKeysRequest()),
        "courses": lambda: staff.courses.ListClasses(crpb.ListClassesRequest(), metadata=admin.metadata),
        "learning": lambda: staff.learning.GetProgress(
            lpb.GetProgressRequest(enrollment_id=trainee.enrollment_id), metadata=trainee.person.metadata
        ),
        "exams": lambda: staff.exams.ListExams(
            xpb.ListExamsRequest(class_id=cohort.opened.class_id), metadata=trainee.person.metadata
        ),
        "certificates": lambda: staff.certificates.ListCertificates(
            cpb.ListCertificatesRequest(trainee_id=trainee.person.user_id), metadata=operator.metadata
        ),
        "supervision": lambda: staff.supervision.ListPushRecords(
            spb.ListPushRecordsRequest(trainee_id=trainee.person.user_id), metadata=operator.metadata
        ),
    }
    answered: dict[str, int] = dict.fromkeys(reads, 0)
    failed: list[str] = []
    done = asyncio.Event()

    async def keep_reading(name: str) -> None:
        while not done.is_set():
            try:
                await reads[name]()
                answered[name] += 1
            except grpc.aio.AioRpcError as error:
                failed.append(f"{name}: {error.code().name} {error.details()}")
            await asyncio.sleep(0.1)  # a steady pace of reads, not a wait for anything

    load = [asyncio.create_task(keep_reading(name)) for name in reads]
    journeys = asyncio.create_task(cohort.run(retry_steps=False))
    await cohort.reached["studying"].wait()

    for name in ORDER:
        before = answered[name]
        assert await platform.terminate(name) == 0, f"{name} did not shut down cleanly"
        await platform.restart(name)
        # The load reached the new process before the next one goes down.
        await wait_until(lambda name=name, before=before: answered[name] > before, what=f"a read answered by {name}")
    done.set()
    await journeys
    await asyncio.gather(*load)

    assert failed == [], failed
    assert cohort.failed_calls == [], cohort.failed_calls
    await assert_ledgers_agree(platform, cohort)
