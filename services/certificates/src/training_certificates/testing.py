"""Test support for certificates and for services whose tests need certificates (pytest plugin).

Fixtures:
- `certificates_app`: certificates running in-process (session) against the session's identity.
- `certificates_stub`: a CertificatesService stub.
- `certificates_backlog`: `await certificates_backlog.drained()` waits until certificates' consumers
  have processed everything published so far.
- `graduation`: real trainees and institutions (through identity) and the events that make a
  certificate due (class opened, enrollment created, class completed, final exam passed), published
  onto the real JetStream streams exactly as courses, learning and exams publish them.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import nats
import pytest
import pytest_asyncio

from training.certificates.v1 import certificates_pb2 as pb
from training.certificates.v1 import certificates_pb2_grpc
from training.common.v1 import common_pb2
from training.courses.v1 import courses_events_pb2 as cev
from training.exams.v1 import exams_events_pb2 as xev
from training.learning.v1 import learning_events_pb2 as lev
from training_certificates.service import MIGRATIONS, CertificatesService
from training_certificates.settings import CertificatesSettings
from training_devstack.embedded import NatsServer
from training_events import Event
from training_identity.testing import People, Person, migrated_database
from training_runtime.clients import insecure_channel
from training_runtime.protoconv import timestamp
from training_runtime.server.app import ServiceApp
from training_testkit import TestDatabases, running_app, wait_until
from training_testkit.streams import EventPublisher


def certificates_settings(
    *, database_url: str, nats_url: str, identity_port: int, secrets: dict[str, str], **overrides: Any
) -> CertificatesSettings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "nats_url": nats_url,
        "grpc_host": "127.0.0.1",
        "grpc_port": 0,
        "identity_url": f"127.0.0.1:{identity_port}",
        "service_client_secret": secrets["client_secret_certificates"],
        "certificate_signing_keys": secrets["certificate_signing_keys"],
        "log_format": "text",
        "health_check_interval_seconds": 0.2,
        "outbox_poll_interval_seconds": 0.5,
        # Short, so a test that edits a row behind the service's back sees the effect quickly.
        "verification_cache_seconds": 1.0,
    }
    values.update(overrides)
    return CertificatesSettings(**values)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def certificates_database(test_databases: TestDatabases) -> str:
    return await migrated_database(test_databases, "certificates", MIGRATIONS)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def certificates_app(
    certificates_database: str, nats_server: NatsServer, identity_app: ServiceApp, platform_secrets: dict[str, str]
) -> AsyncIterator[ServiceApp]:
    assert identity_app.port is not None
    settings = certificates_settings(
        database_url=certificates_database,
        nats_url=nats_server.url,
        identity_port=identity_app.port,
        secrets=platform_secrets,
    )
    async with running_app(CertificatesService(), settings) as app:
        yield app


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def certificates_channel(certificates_app: ServiceApp) -> AsyncIterator[grpc.aio.Channel]:
    channel = insecure_channel(f"127.0.0.1:{certificates_app.port}")
    yield channel
    await channel.close()


@pytest.fixture(scope="session")
def certificates_stub(certificates_channel: grpc.aio.Channel) -> certificates_pb2_grpc.CertificatesServiceStub:
    return certificates_pb2_grpc.CertificatesServiceStub(certificates_channel)


@dataclass
class Graduate:
    """One trainee's enrollment in a class of a real institution, and the events of its training."""

    trainee: Person
    institution_id: str
    region_code: str
    class_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    enrollment_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    topic_ids: tuple[str, str] = field(default_factory=lambda: (str(uuid.uuid4()), str(uuid.uuid4())))
    course_ids: tuple[str, str] = field(default_factory=lambda: (str(uuid.uuid4()), str(uuid.uuid4())))
    lesson_ids: tuple[str, str] = field(default_factory=lambda: (str(uuid.uuid4()), str(uuid.uuid4())))
    employer_code: str = ""
    enrolled_at: datetime = field(default_factory=lambda: datetime.now(UTC) - timedelta(days=20))
    # What courses announces for the class's qualification (docs/records.md, "Retention").
    retention_years: int = 3

    def class_opened(self) -> Event:
        return Event(
            subject="training.courses.class.opened.v1",
            key=self.class_id,
            message=cev.ClassOpened(
                class_id=self.class_id,
                institution_id=self.institution_id,
                region_code=self.region_code,
                syllabus_id=str(uuid.uuid4()),
                qualification_type=common_pb2.QUALIFICATION_TYPE_SAFETY_MANAGER_HIGH_RISK,
                training_kind=common_pb2.TRAINING_KIND_INITIAL,
                rulebook_version="test-2026",
                topics=[
                    cev.ClassTopic(topic_id=self.topic_ids[0], code="law", required_hours=24),
                    cev.ClassTopic(topic_id=self.topic_ids[1], code="hazard", required_hours=24),
                ],
                lessons=[
                    cev.PublishedLesson(
                        lesson_id=lesson_id, course_id=course_id, topic_id=topic_id, duration_seconds=2700, position=0
                    )
                    for lesson_id, course_id, topic_id in zip(
                        self.lesson_ids, self.course_ids, self.topic_ids, strict=True
                    )
                ],
                course_ids=list(self.course_ids),
                teacher_ids=[str(uuid.uuid4()) for _ in self.course_ids],
                opened_at=timestamp(self.enrolled_at - timedelta(days=1)),
            ),
        )

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
                employer_credit_code=self.employer_code,
                enrolled_at=timestamp(self.enrolled_at),
                retention_years=self.retention_years,
            ),
        )

    def class_completed(self) -> Event:
        return Event(
            subject="training.learning.class.completed.v1",
            key=self.enrollment_id,
            message=lev.ClassCompleted(
                enrollment_id=self.enrollment_id,
                class_id=self.class_id,
                trainee_id=self.trainee.user_id,
                institution_id=self.institution_id,
                region_code=self.region_code,
                qualification_type=common_pb2.QUALIFICATION_TYPE_SAFETY_MANAGER_HIGH_RISK,
                training_kind=common_pb2.TRAINING_KIND_INITIAL,
                topics=[
                    lev.TopicHours(topic_id=t, required_hours=24, credited_hours=24.5, credited_seconds=24.5 * 2700)
                    for t in self.topic_ids
                ],
                total_credited_hours=49.0,
                rulebook_version="test-2026",
                completed_at=timestamp(self.enrolled_at + timedelta(days=14)),
            ),
        )

    def attempt_graded(self, *, passed: bool = True, kind: int = xev.EXAM_KIND_FINAL, score: float = 92) -> Event:
        attempt_id = str(uuid.uuid4())
        graded = self.enrolled_at + timedelta(days=15)
        return Event(
            subject="training.exams.attempt.graded.v1",
            key=attempt_id,
            message=xev.AttemptGraded(
                attempt_id=attempt_id,
                exam_id=str(uuid.uuid4()),
                kind=kind,
                enrollment_id=self.enrollment_id,
                class_id=self.class_id,
                trainee_id=self.trainee.user_id,
                institution_id=self.institution_id,
                region_code=self.region_code,
                qualification_type=common_pb2.QUALIFICATION_TYPE_SAFETY_MANAGER_HIGH_RISK,
                training_kind=common_pb2.TRAINING_KIND_INITIAL,
                score=score if passed else 60,
                max_points=100,
                pass_mark=80,
                passed=passed,
                cause=xev.SUBMISSION_CAUSE_TRAINEE,
                rulebook_version="test-2026",
                started_at=timestamp(graded - timedelta(minutes=60)),
                submitted_at=timestamp(graded - timedelta(seconds=5)),
                graded_at=timestamp(graded),
            ),
        )

    def hours_invalidated(self, *, requirements_met: bool, actor: Person) -> Event:
        return Event(
            subject="training.learning.hours.invalidated.v1",
            key=self.enrollment_id,
            message=lev.HoursInvalidated(
                enrollment_id=self.enrollment_id,
                class_id=self.class_id,
                trainee_id=self.trainee.user_id,
                institution_id=self.institution_id,
                region_code=self.region_code,
                entry_ids=[str(uuid.uuid4())],
                invalidated_seconds=3 * 2700,
                invalidated_hours=3,
                remaining_hours=46 if requirements_met else 20,
                requirements_met=requirements_met,
                reason="代学查实",
                actor_id=actor.user_id,
                actor_role=actor.role,
                invalidated_at=timestamp(datetime.now(UTC)),
                rulebook_version="test-2026",
            ),
        )

    def training(self) -> list[Event]:
        """Everything that makes the certificate due, in the order it happens."""
        return [self.class_opened(), self.enrollment_created(), self.class_completed(), self.attempt_graded()]


class Graduation:
    def __init__(self, people: People, nats_url: str, stub: certificates_pb2_grpc.CertificatesServiceStub) -> None:
        self.people = people
        self.nats_url = nats_url
        self.stub = stub
        self._institutions: dict[str, str] = {}

    async def graduate(self, *, region: str = "440106", institution_id: str | None = None) -> Graduate:
        """A real trainee of a real institution of `region` (one institution per region is reused)."""
        if institution_id is None:
            if region not in self._institutions:
                self._institutions[region] = (await self.people.institution(region)).institution_id
            institution_id = self._institutions[region]
        trainee = await self.people.trainee()
        return Graduate(
            trainee=trainee, institution_id=institution_id, region_code=region, employer_code=trainee.employer_code
        )

    async def publish(self, *events: Event) -> None:
        async with EventPublisher(self.nats_url) as publisher:
            for event in events:
                await publisher.publish(event, source=event.subject.split(".")[1])

    async def certificates_of(self, graduate: Graduate) -> list[pb.Certificate]:
        response = await self.stub.ListCertificates(
            pb.ListCertificatesRequest(trainee_id=graduate.trainee.user_id), metadata=self.people.operator.metadata
        )
        return [c for c in response.certificates if c.enrollment_id == graduate.enrollment_id]

    async def certificate(self, graduate: Graduate, *, timeout: float = 15) -> pb.Certificate:
        """Wait until the graduate's certificate is issued and return it."""
        found = await wait_until(
            lambda: self.certificates_of(graduate), timeout=timeout, what="the certificate to be issued"
        )
        return found[0]


@pytest.fixture(scope="session")
def graduation(
    people: People, nats_server: NatsServer, certificates_stub: certificates_pb2_grpc.CertificatesServiceStub
) -> Graduation:
    return Graduation(people, nats_server.url, certificates_stub)


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
        async def empty() -> bool:
            return await self.pending() == 0

        await wait_until(empty, timeout=20, what="certificates' consumers to drain")


@pytest.fixture
def certificates_backlog(nats_server: NatsServer, certificates_app: ServiceApp) -> Backlog:
    return Backlog(nats_server.url)
