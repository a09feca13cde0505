"""Test support for learning and for services whose tests need credited hours (pytest plugin).

Fixtures:
- `learning_app`: learning running in-process (session) on the shared `training_clock`, the test
  rulebook, the session's identity (face checks) and courses (classes, enrollments).
- `learning_stub`: a LearningService stub.
- `classroom`: an open class with an enrolled trainee whom learning knows, and a `Player` that
  drives study the way the web player does, moving the shared clock instead of sleeping.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

import grpc
import pytest
import pytest_asyncio

from training.learning.v1 import learning_pb2 as pb
from training.learning.v1 import learning_pb2_grpc
from training_courses.testing import Campus, OpenClass, service_settings
from training_devstack.embedded import NatsServer
from training_identity.testing import People, Person, migrated_database
from training_learning.service import MIGRATIONS, LearningService
from training_learning.settings import LearningSettings
from training_runtime.clients import insecure_channel
from training_runtime.clock import ManualClock
from training_runtime.protoconv import timestamp
from training_runtime.server.app import ServiceApp
from training_testkit import TestDatabases, running_app, wait_until


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def learning_database(test_databases: TestDatabases) -> str:
    return await migrated_database(test_databases, "learning", MIGRATIONS)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def learning_app(
    learning_database: str,
    nats_server: NatsServer,
    identity_app: ServiceApp,
    courses_app: ServiceApp,
    platform_secrets: dict[str, str],
    rulebook_file: str,
    training_clock: ManualClock,
) -> AsyncIterator[ServiceApp]:
    assert identity_app.port is not None
    settings = service_settings(
        LearningSettings,
        database_url=learning_database,
        nats_url=nats_server.url,
        identity_port=identity_app.port,
        secret=platform_secrets["client_secret_learning"],
        rulebook=rulebook_file,
        sweep_interval_seconds=0.2,
    )
    async with running_app(LearningService(), settings, clock=training_clock) as app:
        yield app


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def learning_channel(learning_app: ServiceApp) -> AsyncIterator[grpc.aio.Channel]:
    channel = insecure_channel(f"127.0.0.1:{learning_app.port}")
    yield channel
    await channel.close()


@pytest.fixture(scope="session")
def learning_stub(learning_channel: grpc.aio.Channel) -> learning_pb2_grpc.LearningServiceStub:
    return learning_pb2_grpc.LearningServiceStub(learning_channel)


@dataclass
class Player:
    """One device playing one lesson: sends numbered heartbeats and moves the shared clock."""

    stub: learning_pb2_grpc.LearningServiceStub
    trainee: Person
    clock: ManualClock
    session: pb.StudySession
    position: float = 0.0
    sequence: int = 0
    acks: list[pb.HeartbeatAck] = field(default_factory=list)

    @property
    def session_id(self) -> str:
        return self.session.session_id

    async def beat(
        self,
        *,
        advance: float = 10.0,
        moved: float | None = None,
        rate: float = 1.0,
        focused: bool = True,
        client_skew: float = 0.0,
        sequence: int | None = None,
    ) -> pb.HeartbeatAck:
        """Let `advance` seconds pass, move the position by `moved` (default: as much), and report."""
        self.clock.advance(advance)
        self.position += advance if moved is None else moved
        if sequence is None:
            self.sequence += 1
            sequence = self.sequence
        response = await self.stub.SendHeartbeat(
            pb.SendHeartbeatRequest(
                heartbeat=pb.Heartbeat(
                    session_id=self.session_id,
                    sequence=sequence,
                    position_seconds=self.position,
                    playback_rate=rate,
                    focused=focused,
                    client_time=timestamp(self.clock.now() + timedelta(seconds=client_skew)),
                )
            ),
            metadata=self.trainee.metadata,
        )
        self.acks.append(response.ack)
        return response.ack

    async def check(self, image: bytes) -> pb.SubmitFaceCheckResponse:
        return await self.stub.SubmitFaceCheck(
            pb.SubmitFaceCheckRequest(session_id=self.session_id, face_image=image), metadata=self.trainee.metadata
        )

    async def end(self, image: bytes = b"") -> pb.EndStudyResponse:
        return await self.stub.EndStudy(
            pb.EndStudyRequest(session_id=self.session_id, face_image=image), metadata=self.trainee.metadata
        )

    async def study(self, until: float, image: bytes, *, step: float = 10.0) -> None:
        """Watch honestly at 1x to position `until`, answering each due face check with `image`."""
        if not self.acks:
            await self.beat(advance=0)  # the baseline
        while self.position < until - 1e-9:
            ack = await self.beat(advance=min(step, until - self.position))
            if ack.face_check.due:
                await self.check(image)


@dataclass
class Classroom:
    stub: learning_pb2_grpc.LearningServiceStub
    campus: Campus
    people: People
    clock: ManualClock

    async def enrolled(self, opened: OpenClass, trainee: Person) -> str:
        """Enroll `trainee` and wait until learning knows the enrollment; returns its id."""
        enrollment = await self.campus.enroll(opened, trainee)

        async def known() -> bool:
            try:
                await self.stub.GetProgress(
                    pb.GetProgressRequest(enrollment_id=enrollment.enrollment_id), metadata=trainee.metadata
                )
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.NOT_FOUND:
                    return False
                raise
            return True

        await wait_until(known, what="learning to learn of the enrollment")
        return enrollment.enrollment_id

    async def start(
        self, trainee: Person, enrollment_id: str, lesson_id: str, image: bytes, *, device: str = "device-aaaaaaaa"
    ) -> Player:
        response = await self.stub.StartStudy(
            pb.StartStudyRequest(
                enrollment_id=enrollment_id,
                lesson_id=lesson_id,
                device_id=device,
                face_image=image,
                client_time=timestamp(self.clock.now()),
            ),
            metadata=trainee.metadata,
        )
        return Player(
            self.stub, trainee, self.clock, response.session, position=response.session.resume_position_seconds
        )

    async def progress(self, viewer: Person, enrollment_id: str) -> pb.Progress:
        return (
            await self.stub.GetProgress(pb.GetProgressRequest(enrollment_id=enrollment_id), metadata=viewer.metadata)
        ).progress

    async def entries(self, viewer: Person, enrollment_id: str) -> list[pb.LedgerEntry]:
        response = await self.stub.ExplainHours(
            pb.ExplainHoursRequest(enrollment_id=enrollment_id), metadata=viewer.metadata
        )
        return list(response.entries)


@pytest.fixture(scope="session")
def classroom(
    learning_stub: learning_pb2_grpc.LearningServiceStub, campus: Campus, people: People, training_clock: ManualClock
) -> Classroom:
    return Classroom(learning_stub, campus, people, training_clock)
