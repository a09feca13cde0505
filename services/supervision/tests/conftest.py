"""Supervision's tests: the trainees whose records a scenario sends, and reading the province."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from training.common.v1 import common_pb2
from training.courses.v1 import courses_events_pb2 as cev
from training.learning.v1 import learning_events_pb2 as lev
from training.supervision.v1 import supervision_pb2 as pb
from training_events import Event
from training_identity.testing import Person
from training_runtime.protoconv import timestamp
from training_supervision_simulator import Simulator
from training_testkit import wait_until
from training_testkit.streams import EventPublisher


@dataclass
class Learner:
    """A real trainee's enrollment and the learning events of its study."""

    trainee: Person
    institution_id: str
    region_code: str
    class_id: str
    enrollment_id: str

    def enrollment_created(self) -> Event:
        return Event(
            subject="training.courses.enrollment.created.v1",
            key=self.enrollment_id,
            message=cev.EnrollmentCreated(
                enrollment_id=self.enrollment_id,
                class_id=self.class_id,
                trainee_id=self.trainee.user_id,
                institution_id=self.institution_id,
                region_code=self.region_code,
                employer_credit_code=self.trainee.employer_code,
                enrolled_at=timestamp(datetime.now(UTC)),
            ),
        )

    def hours_credited(self, n: int) -> Event:
        return Event(
            subject="training.learning.hours.credited.v1",
            key=self.enrollment_id,
            message=lev.HoursCredited(
                entry_id=str(uuid.uuid4()),
                enrollment_id=self.enrollment_id,
                class_id=self.class_id,
                trainee_id=self.trainee.user_id,
                institution_id=self.institution_id,
                region_code=self.region_code,
                course_id=str(uuid.uuid4()),
                lesson_id=str(uuid.uuid4()),
                topic_id=str(uuid.uuid4()),
                credited_seconds=600,
                credited_hours=600 / 2700,
                kind="CREDIT",
                rulebook_version="test-2026",
                credited_at=timestamp(datetime.now(UTC) + timedelta(seconds=n)),
            ),
        )


class Scenario:
    def __init__(self, people, nats_url: str, stub, province: Simulator) -> None:  # type: ignore[no-untyped-def]
        self.people = people
        self.nats_url = nats_url
        self.stub = stub
        self.province = province

    async def learner(self, institution_id: str, region: str = "440106") -> Learner:
        return Learner(
            trainee=await self.people.trainee(),
            institution_id=institution_id,
            region_code=region,
            class_id=str(uuid.uuid4()),
            enrollment_id=str(uuid.uuid4()),
        )

    async def publish(self, *events: Event) -> None:
        async with EventPublisher(self.nats_url) as publisher:
            for event in events:
                await publisher.publish(event, source=event.subject.split(".")[1])

    async def records(self, *, trainee_id: str = "", institution_id: str = "") -> list[pb.PushRecord]:
        found, token = [], ""
        while True:
            page = await self.stub.ListPushRecords(
                pb.ListPushRecordsRequest(
                    page=common_pb2.PageRequest(page_size=200, page_token=token),
                    trainee_id=trainee_id,
                    institution_id=institution_id,
                ),
                metadata=self.people.operator.metadata,
            )
            found.extend(page.records)
            token = page.next_page_token
            if not token:
                return found

    async def acknowledged(self, count: int, **scope: str) -> list[pb.PushRecord]:
        """Wait until `count` records of the scope exist and all are acknowledged."""

        async def done():  # type: ignore[no-untyped-def]
            records = await self.records(**scope)
            ok = len(records) >= count and all(r.status == pb.PUSH_STATUS_ACKNOWLEDGED for r in records)
            return records if ok else None

        return await wait_until(done, timeout=60, interval=0.1, what=f"{count} records acknowledged for {scope}")

    async def settled(self, timeout: float = 300) -> None:
        """Wait until no record waits for the province: the session's supervision has consumed every
        earlier test's events (all services share one NATS), and a test that turns faults on should
        measure its own records, not that backlog."""

        async def nothing_waiting() -> bool:
            for status in (pb.PUSH_STATUS_PENDING, pb.PUSH_STATUS_SENT):
                page = await self.stub.ListPushRecords(
                    pb.ListPushRecordsRequest(page=common_pb2.PageRequest(page_size=1), status=status),
                    metadata=self.people.operator.metadata,
                )
                if page.records:
                    return False
            return True

        await wait_until(nothing_waiting, timeout=timeout, interval=0.2, what="supervision's backlog to drain")

    def held(self, order_key: str) -> list[dict]:
        """What the province holds for an order key, in arrival order."""
        return [s.record for s in self.province.store.in_arrival_order() if s.record["order_key"] == order_key]


@pytest.fixture
def scenario(people, nats_server, supervision_stub, province, supervision_app) -> Scenario:  # type: ignore[no-untyped-def]
    return Scenario(people, nats_server.url, supervision_stub, province)
