"""The platform behind the gateway, for the gateway's tests: identity, courses, learning, exams and
certificates running in-process on their own NATS server and databases, on the real clock (a
browser's heartbeats are real time) and a short-hour journey rulebook, and the gateway itself on a
free port.

The services are private to these tests (not the session's shared ones, which run on a manual
clock) so that durable consumers and streams do not mix with other tests' services.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from imageio_ffmpeg import get_ffmpeg_exe

from training.common.v1 import common_pb2
from training.courses.v1 import courses_pb2 as cpb
from training.courses.v1 import courses_pb2_grpc
from training.exams.v1 import exams_pb2 as epb
from training.exams.v1 import exams_pb2_grpc
from training.identity.v1 import identity_pb2 as ipb
from training.identity.v1 import identity_pb2_grpc
from training_certificates.service import MIGRATIONS as CERTIFICATES_MIGRATIONS
from training_certificates.service import CertificatesService
from training_certificates.testing import certificates_settings
from training_courses.service import MIGRATIONS as COURSES_MIGRATIONS
from training_courses.service import CoursesService
from training_courses.settings import CoursesSettings
from training_courses.testing import Campus, OpenClass, School, service_settings
from training_devstack import secrets as dev_secrets
from training_devstack.embedded import NatsServer, free_port
from training_exams.sample import sample_bank
from training_exams.service import MIGRATIONS as EXAMS_MIGRATIONS
from training_exams.service import ExamsService
from training_exams.testing import exams_settings
from training_gateway.server import GracefulServer, build_server
from training_gateway.settings import GatewaySettings
from training_identity.bootstrap import create_operator
from training_identity.service import MIGRATIONS as IDENTITY_MIGRATIONS
from training_identity.service import IdentityService
from training_identity.settings import IdentitySettings
from training_identity.testing import OPERATOR_PASSWORD, People, Person, identity_settings, migrated_database
from training_learning.service import MIGRATIONS as LEARNING_MIGRATIONS
from training_learning.service import LearningService
from training_learning.settings import LearningSettings
from training_rulebook.loading import load_rulebook
from training_runtime.clients import insecure_channel
from training_runtime.server.app import ServiceApp
from training_testkit import TestDatabases, running_app, wait_until

DATA = Path(__file__).parent / "data"
# One journey class hour lasts this many seconds; each lesson a little longer than one hour.
CLASS_HOUR_SECONDS = 15
LESSON_SECONDS = 20
TOPICS = (("law", 1), ("safety", 1))


def journey_rulebook() -> dict:
    """The demo rulebook with every clock shortened, so a browser completes a class in about a minute."""
    demo = load_rulebook("demo").versions[-1].model_dump(mode="json")
    version = {
        **demo,
        "version": "journey-2026",
        "effective_from": "2026-01-01",
        "description": "Browser journey: 15-second class hours, 3-second heartbeats, checks every 6 to 12 seconds.",
        "class_hour_minutes": CLASS_HOUR_SECONDS / 60,
        "face_checks": {
            **demo["face_checks"],
            "min_interval_minutes": 0.1,
            "max_interval_minutes": 0.2,
            "response_seconds": 30,
        },
        "heartbeats": {
            **demo["heartbeats"],
            "interval_seconds": 3,
            # A heartbeat moves the position 3 s; 1 s of tolerance still tells playing from paused.
            "position_tolerance_seconds": 1,
            "idle_timeout_seconds": 15,
            "abandon_after_minutes": 2,
        },
    }
    return {"name": "journey", "versions": [version]}


class QuietServer(GracefulServer):
    """The gateway inside the test process: pytest keeps its own signal handling."""

    def capture_signals(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()


@dataclass
class Platform:
    people: People
    campus: Campus
    identity: ServiceApp
    courses: ServiceApp
    learning: ServiceApp
    exams_stub: exams_pb2_grpc.ExamsServiceStub
    certificates: ServiceApp
    gateway: GatewaySettings
    base_url: str
    media_dir: Path

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=30)

    async def journey_class(self) -> OpenClass:
        """A school with a class of two one-hour topics, each a published course of one 20-second lesson."""
        school = await self.campus.school()
        syllabus = await self.campus.syllabus(topics=TOPICS)
        courses = []
        for code, hours in TOPICS:
            course = self.campus.new_course(school, syllabus, code, hours=hours, lessons=(LESSON_SECONDS,))
            for lesson in course.lessons:
                lesson.media_ref = "media://journey/lesson.webm"
            courses.append(await self._publish(school, course))
        opened = await self.campus.stub.OpenClass(
            cpb.OpenClassRequest(
                title="2026年第9期安全管理人员初训班（浏览器）",
                syllabus_id=syllabus.syllabus_id,
                course_ids=[c.course_id for c in courses],
            ),
            metadata=school.admin.metadata,
        )
        return OpenClass(school, syllabus, courses, opened.training_class)

    async def _publish(self, school: School, new: cpb.NewCourse) -> cpb.Course:
        s = self.campus.stub
        course = (await s.CreateCourse(cpb.CreateCourseRequest(course=new), metadata=school.staff.metadata)).course
        ref = {"course_id": course.course_id, "version": course.version}
        await s.SubmitCourse(cpb.SubmitCourseRequest(**ref), metadata=school.staff.metadata)
        await s.ReviewCourse(
            cpb.ReviewCourseRequest(**ref, decision=cpb.REVIEW_DECISION_APPROVE, comment="内容合规"),
            metadata=self.people.operator.metadata,
        )
        await s.AcceptCourse(cpb.AcceptCourseRequest(**ref), metadata=school.admin.metadata)
        return (await s.PublishCourse(cpb.PublishCourseRequest(**ref), metadata=school.admin.metadata)).course

    async def final_exam(self, opened: OpenClass) -> str:
        """The sample bank (imported and approved by the operator) and a final exam of `opened` set by
        its institution through the gateway: five true/false questions of 20 points, a face check at
        the start."""
        operator = self.people.operator.metadata
        imported = await self.exams_stub.ImportBank(epb.ImportBankRequest(content=sample_bank()), metadata=operator)
        if imported.bank.versions[-1].status == epb.BANK_VERSION_STATUS_PENDING_REVIEW:
            await self.exams_stub.ReviewBankVersion(
                epb.ReviewBankVersionRequest(
                    bank_id=imported.bank.bank_id,
                    version=imported.version,
                    decision=epb.REVIEW_DECISION_APPROVE,
                    comment="题库审核通过",
                ),
                metadata=operator,
            )
        body = {
            "class_id": opened.class_id,
            "kind": "EXAM_KIND_FINAL",
            "title": "结业考试",
            "bank_id": imported.bank.bank_id,
            "time_limit_minutes": 10,
            "max_attempts": 1,
            "face_check_at_start": True,
            "blueprint": [{"type": "QUESTION_TYPE_TRUE_FALSE", "count": 5, "points": 20}],
        }
        async with self.client() as http:

            async def created() -> str | None:
                response = await http.post(
                    "/api/v1/exams", json=body, headers={"Authorization": f"Bearer {opened.school.admin.token}"}
                )
                if response.status_code == 409 and response.json()["reason"] == "CLASS_NOT_KNOWN":
                    return None  # exams learns of classes from courses' events
                assert response.status_code == 201, response.text
                return response.json()["exam"]["exam_id"]

            return await wait_until(created, timeout=30, what="exams to learn of the class")

    async def wait_learning_knows(self, trainee_token: str, enrollment_id: str) -> None:
        async with self.client() as http:

            async def known() -> bool:
                response = await http.get(
                    f"/api/v1/enrollments/{enrollment_id}/progress",
                    headers={"Authorization": f"Bearer {trainee_token}"},
                )
                return response.status_code == 200

            await wait_until(known, timeout=30, what="learning to know the enrollment")


def make_lesson_video(folder: Path) -> None:
    """A 20-second VP8 test pattern (what a media store would hold), made by ffmpeg (imageio-ffmpeg's)."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            get_ffmpeg_exe(),
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc=size=320x240:rate=10:duration={LESSON_SECONDS}",
            "-c:v",
            "libvpx",
            "-b:v",
            "200k",
            "-an",
            str(folder / "lesson.webm"),
        ],
        check=True,
    )


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def platform(test_databases: TestDatabases, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    scratch = tmp_path_factory.mktemp("gateway-platform")
    secrets = dev_secrets.generate()
    rulebook = scratch / "journey-rulebook.json"
    rulebook.write_text(json.dumps(journey_rulebook(), ensure_ascii=False))
    load_rulebook(str(rulebook))
    media_dir = scratch / "media"
    make_lesson_video(media_dir)
    databases = {
        name: await migrated_database(test_databases, f"gw_{name}", migrations)
        for name, migrations in (
            ("identity", IDENTITY_MIGRATIONS),
            ("courses", COURSES_MIGRATIONS),
            ("learning", LEARNING_MIGRATIONS),
            ("exams", EXAMS_MIGRATIONS),
            ("certificates", CERTIFICATES_MIGRATIONS),
        )
    }
    # Known before the services start: certificates print the verification page's address in QR codes.
    gateway_port = free_port()
    base_url = f"http://127.0.0.1:{gateway_port}"
    async with contextlib.AsyncExitStack() as stack:
        nats = NatsServer(scratch / "nats" / "store").start()
        stack.callback(nats.stop)
        identity = await stack.enter_async_context(
            running_app(
                IdentityService(),
                identity_settings(database_url=databases["identity"], nats_url=nats.url, secrets=secrets),
            )
        )
        common = {"nats_url": nats.url, "identity_port": identity.port, "rulebook": str(rulebook)}
        courses = await stack.enter_async_context(
            running_app(
                CoursesService(),
                service_settings(
                    CoursesSettings,
                    database_url=databases["courses"],
                    secret=secrets["client_secret_courses"],
                    **common,
                ),
            )
        )
        learning = await stack.enter_async_context(
            running_app(
                LearningService(),
                service_settings(
                    LearningSettings,
                    database_url=databases["learning"],
                    secret=secrets["client_secret_learning"],
                    **common,
                ),
            )
        )
        exams = await stack.enter_async_context(
            running_app(
                ExamsService(),
                exams_settings(
                    database_url=databases["exams"],
                    nats_url=nats.url,
                    identity_port=identity.port,
                    secret=secrets["client_secret_exams"],
                    rulebook=str(rulebook),
                ),
            )
        )
        certificates = await stack.enter_async_context(
            running_app(
                CertificatesService(),
                certificates_settings(
                    database_url=databases["certificates"],
                    nats_url=nats.url,
                    identity_port=identity.port,
                    secrets=secrets,
                    verification_url=f"{base_url}/verify",
                ),
            )
        )
        gateway_settings = GatewaySettings(
            http_host="127.0.0.1",
            http_port=gateway_port,
            identity_url=f"127.0.0.1:{identity.port}",
            courses_url=f"127.0.0.1:{courses.port}",
            learning_url=f"127.0.0.1:{learning.port}",
            exams_url=f"127.0.0.1:{exams.port}",
            certificates_url=f"127.0.0.1:{certificates.port}",
            # No supervision here: class archives say its chain heads are unavailable.
            supervision_url="",
            archive_rulebooks=str(rulebook),
            media_roots=f"journey={media_dir}",
            log_format="text",
            shutdown_grace_seconds=5,
            # As behind an ingress: each test can be its own client for the rate limits.
            trust_forwarded_for=True,
        )
        server = build_server(gateway_settings, server_class=QuietServer)
        serving = asyncio.create_task(server.serve())

        async def stop_gateway() -> None:
            server.should_exit = True
            await serving

        stack.push_async_callback(stop_gateway)
        await wait_until(lambda: server.started, timeout=20, what="the gateway to listen")
        identity_channel = insecure_channel(f"127.0.0.1:{identity.port}")
        stack.push_async_callback(identity_channel.close)
        courses_channel = insecure_channel(f"127.0.0.1:{courses.port}")
        stack.push_async_callback(courses_channel.close)
        exams_channel = insecure_channel(f"127.0.0.1:{exams.port}")
        stack.push_async_callback(exams_channel.close)
        stub = identity_pb2_grpc.IdentityServiceStub(identity_channel)
        settings = identity.settings
        assert isinstance(settings, IdentitySettings)
        await create_operator(settings, "gw-operator", OPERATOR_PASSWORD, "平台运营")
        signed_in = await stub.Login(ipb.LoginRequest(login="gw-operator", password=OPERATOR_PASSWORD))
        operator = Person(
            user_id=signed_in.user.user_id,
            role=common_pb2.ROLE_OPERATOR,
            token=signed_in.tokens.access_token,
            login="gw-operator",
        )
        people = People(stub, operator, secrets)
        yield Platform(
            people=people,
            campus=Campus(courses_pb2_grpc.CoursesServiceStub(courses_channel), people),
            exams_stub=exams_pb2_grpc.ExamsServiceStub(exams_channel),
            identity=identity,
            courses=courses,
            learning=learning,
            certificates=certificates,
            gateway=gateway_settings,
            base_url=base_url,
            media_dir=media_dir,
        )
