"""Test support for courses and for every service whose tests need classes (pytest plugin).

Fixtures:
- `courses_app`: courses running in-process (session) on the shared `training_clock` and the test
  rulebook, against the session's identity.
- `courses_stub`: a CoursesService stub.
- `campus`: builds schools, syllabi, published courses, classes and enrollments through the APIs.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
import pytest_asyncio

from training.common.v1 import common_pb2
from training.courses.v1 import courses_pb2 as pb
from training.courses.v1 import courses_pb2_grpc
from training.identity.v1 import identity_pb2 as ipb
from training_courses.service import MIGRATIONS, CoursesService
from training_courses.settings import CoursesSettings
from training_devstack.embedded import NatsServer
from training_identity.testing import People, Person, migrated_database
from training_runtime.clients import insecure_channel
from training_runtime.clock import ManualClock
from training_runtime.server.app import ServiceApp
from training_testkit import TestDatabases, running_app, wait_until

R = common_pb2


def service_settings(
    cls: type, *, database_url: str, nats_url: str, identity_port: int, secret: str, rulebook: str, **overrides: Any
) -> Any:
    values: dict[str, Any] = {
        "database_url": database_url,
        "nats_url": nats_url,
        "grpc_host": "127.0.0.1",
        "grpc_port": 0,
        "identity_url": f"127.0.0.1:{identity_port}",
        "service_client_secret": secret,
        "rulebook": rulebook,
        "log_format": "text",
        "health_check_interval_seconds": 0.2,
        "outbox_poll_interval_seconds": 0.5,
    }
    values.update(overrides)
    return cls(**values)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def courses_database(test_databases: TestDatabases) -> str:
    return await migrated_database(test_databases, "courses", MIGRATIONS)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def courses_app(
    courses_database: str,
    nats_server: NatsServer,
    identity_app: ServiceApp,
    platform_secrets: dict[str, str],
    rulebook_file: str,
    training_clock: ManualClock,
) -> AsyncIterator[ServiceApp]:
    assert identity_app.port is not None
    settings = service_settings(
        CoursesSettings,
        database_url=courses_database,
        nats_url=nats_server.url,
        identity_port=identity_app.port,
        secret=platform_secrets["client_secret_courses"],
        rulebook=rulebook_file,
    )
    async with running_app(CoursesService(), settings, clock=training_clock) as app:
        yield app


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def courses_channel(courses_app: ServiceApp) -> AsyncIterator[grpc.aio.Channel]:
    channel = insecure_channel(f"127.0.0.1:{courses_app.port}")
    yield channel
    await channel.close()


@pytest.fixture(scope="session")
def courses_stub(courses_channel: grpc.aio.Channel) -> courses_pb2_grpc.CoursesServiceStub:
    return courses_pb2_grpc.CoursesServiceStub(courses_channel)


@dataclass
class School:
    institution: ipb.Institution
    admin: Person
    staff: Person

    @property
    def institution_id(self) -> str:
        return self.institution.institution_id


@dataclass
class OpenClass:
    school: School
    syllabus: pb.Syllabus
    courses: list[pb.Course]
    training_class: pb.TrainingClass
    enrollments: dict[str, pb.Enrollment] = field(default_factory=dict)

    @property
    def class_id(self) -> str:
        return self.training_class.class_id

    def lessons(self) -> list[pb.Lesson]:
        return [lesson for course in self.courses for lesson in course.lessons]


class Campus:
    """Builds the courses side of a scenario through the public APIs."""

    def __init__(self, stub: courses_pb2_grpc.CoursesServiceStub, people: People) -> None:
        self.stub = stub
        self.people = people

    async def school(self, region: str = "440106", qualification_types: list[int] | None = None) -> School:
        institution = await self.people.institution(region=region, qualification_types=qualification_types)
        admin = await self.people.account(R.ROLE_INSTITUTION_ADMIN, institution_id=institution.institution_id)
        staff = await self.people.account(R.ROLE_INSTITUTION_STAFF, creator=admin)
        school = School(institution, admin, staff)
        await self.wait_known(school)
        return school

    async def wait_known(self, school: School) -> None:
        """Until courses has processed the institution's registration (its figures answer)."""

        async def known() -> bool:
            try:
                await self.stub.GetQualityFigures(
                    pb.GetQualityFiguresRequest(scope=pb.QUALITY_SCOPE_INSTITUTION, subject_id=school.institution_id),
                    metadata=school.admin.metadata,
                )
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.NOT_FOUND:
                    return False
                raise
            return True

        await wait_until(known, what="courses to learn of the institution")

    async def syllabus(
        self,
        *,
        qualification: int = R.QUALIFICATION_TYPE_SAFETY_MANAGER_HIGH_RISK,
        kind: int = R.TRAINING_KIND_INITIAL,
        total_hours: int = 3,
        topics: Sequence[tuple[str, int]] = (("law", 1), ("safety", 1)),
        operation_type: str = "",
    ) -> pb.Syllabus:
        response = await self.stub.CreateSyllabus(
            pb.CreateSyllabusRequest(
                title=f"安全管理人员初训大纲{uuid.uuid4().hex[:4]}",
                qualification_type=qualification,
                operation_type=operation_type,
                training_kind=kind,
                total_hours=total_hours,
                topics=[pb.SyllabusTopic(code=code, title=f"专题 {code}", required_hours=h) for code, h in topics],
            ),
            metadata=self.people.operator.metadata,
        )
        return response.syllabus

    def new_course(
        self, school: School, syllabus: pb.Syllabus, topic_code: str, *, hours: int = 1, lessons: Sequence[int] = (120,)
    ) -> pb.NewCourse:
        topic = next(t for t in syllabus.topics if t.code == topic_code)
        return pb.NewCourse(
            title=f"课程 {topic_code} {uuid.uuid4().hex[:4]}",
            syllabus_id=syllabus.syllabus_id,
            topic_id=topic.topic_id,
            credited_hours=hours,
            teacher_id=school.staff.user_id,
            lessons=[
                pb.Lesson(title=f"第{i + 1}讲", duration_seconds=d, media_ref=f"media://test/{uuid.uuid4().hex}.mp4")
                for i, d in enumerate(lessons)
            ],
        )

    async def published_course(
        self, school: School, syllabus: pb.Syllabus, topic_code: str, *, hours: int = 1, lessons: Sequence[int] = (120,)
    ) -> pb.Course:
        s = self.stub
        course = (
            await s.CreateCourse(
                pb.CreateCourseRequest(
                    course=self.new_course(school, syllabus, topic_code, hours=hours, lessons=lessons)
                ),
                metadata=school.staff.metadata,
            )
        ).course
        v = course.version
        await s.SubmitCourse(
            pb.SubmitCourseRequest(course_id=course.course_id, version=v), metadata=school.staff.metadata
        )
        await s.ReviewCourse(
            pb.ReviewCourseRequest(
                course_id=course.course_id, version=v, decision=pb.REVIEW_DECISION_APPROVE, comment="内容合规"
            ),
            metadata=self.people.operator.metadata,
        )
        await s.AcceptCourse(
            pb.AcceptCourseRequest(course_id=course.course_id, version=v), metadata=school.admin.metadata
        )
        return (
            await s.PublishCourse(
                pb.PublishCourseRequest(course_id=course.course_id, version=v), metadata=school.admin.metadata
            )
        ).course

    async def open_class(
        self,
        school: School | None = None,
        *,
        topics: Sequence[tuple[str, int]] = (("law", 1), ("safety", 1)),
        lessons: Sequence[int] = (120,),
        region: str = "440106",
        qualification: int = R.QUALIFICATION_TYPE_SAFETY_MANAGER_HIGH_RISK,
    ) -> OpenClass:
        """A school (new unless given), a syllabus, one published course per topic, an open class
        (a special-operation class is for low-voltage electricians, within the school's scope)."""
        school = school or await self.school(region=region)
        operation_type = "electrical.low_voltage" if qualification == R.QUALIFICATION_TYPE_SPECIAL_OPERATION else ""
        syllabus = await self.syllabus(topics=topics, qualification=qualification, operation_type=operation_type)
        courses = [
            await self.published_course(school, syllabus, code, hours=hours, lessons=lessons) for code, hours in topics
        ]
        opened = await self.stub.OpenClass(
            pb.OpenClassRequest(
                title=f"第{uuid.uuid4().hex[:4]}期安全管理人员培训班",
                syllabus_id=syllabus.syllabus_id,
                course_ids=[c.course_id for c in courses],
            ),
            metadata=school.admin.metadata,
        )
        return OpenClass(school, syllabus, courses, opened.training_class)

    async def enroll(self, opened: OpenClass, trainee: Person) -> pb.Enrollment:
        enrollment = (
            await self.stub.EnrollTrainee(
                pb.EnrollTraineeRequest(class_id=opened.class_id, trainee_id=trainee.user_id),
                metadata=opened.school.staff.metadata,
            )
        ).enrollment
        opened.enrollments[trainee.user_id] = enrollment
        return enrollment


@pytest.fixture(scope="session")
def campus(courses_stub: courses_pb2_grpc.CoursesServiceStub, people: People) -> Campus:
    return Campus(courses_stub, people)


ANONYMOUS = 0
ROLES = (
    ANONYMOUS,
    R.ROLE_TRAINEE,
    R.ROLE_INSTITUTION_ADMIN,
    R.ROLE_INSTITUTION_STAFF,
    R.ROLE_EMPLOYER,
    R.ROLE_OPERATOR,
    R.ROLE_REGULATOR,
    R.ROLE_EXAM_INSTITUTION,
    R.ROLE_SERVICE,
)


def role_name(role: int) -> str:
    return R.Role.Name(role) if role else "ANONYMOUS"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def every_role(people: People, platform_secrets: dict[str, str]) -> dict[int, Person | None]:
    """One signed-in account of every role (and None for an anonymous caller), for access matrices."""
    institution = await people.institution()
    admin = await people.account(R.ROLE_INSTITUTION_ADMIN, institution_id=institution.institution_id)
    issued = await people.stub.IssueServiceToken(
        ipb.IssueServiceTokenRequest(service_name="exams", client_secret=platform_secrets["client_secret_exams"])
    )
    return {
        ANONYMOUS: None,
        R.ROLE_TRAINEE: await people.trainee(),
        R.ROLE_INSTITUTION_ADMIN: admin,
        R.ROLE_INSTITUTION_STAFF: await people.account(R.ROLE_INSTITUTION_STAFF, creator=admin),
        R.ROLE_EMPLOYER: await people.account(R.ROLE_EMPLOYER),
        R.ROLE_OPERATOR: people.operator,
        R.ROLE_REGULATOR: await people.account(R.ROLE_REGULATOR, region_code="440000"),
        R.ROLE_EXAM_INSTITUTION: await people.account(R.ROLE_EXAM_INSTITUTION, region_code="440000"),
        R.ROLE_SERVICE: Person(user_id="service:exams", role=R.ROLE_SERVICE, token=issued.access_token, login=""),
    }


async def assert_access(call: Any, *, role: int, allowed: set[int]) -> None:
    """An allowed role gets past authentication and the access policy; any other is refused by them."""
    try:
        await call
        code, details = grpc.StatusCode.OK, ""
    except grpc.aio.AioRpcError as exc:
        code, details = exc.code(), exc.details() or ""
    if role in allowed:
        assert code != grpc.StatusCode.UNAUTHENTICATED, details
        assert not (code == grpc.StatusCode.PERMISSION_DENIED and "may not call" in details), details
    elif role == ANONYMOUS:
        assert code == grpc.StatusCode.UNAUTHENTICATED, details
    else:
        assert code == grpc.StatusCode.PERMISSION_DENIED, details
        assert "may not call" in details
