"""Training classes and enrollments: an active institution within its scope, a course set covering
the syllabus, a suspended institution opening nothing and enrolling no one, events for learning."""

from __future__ import annotations

import grpc

from training.common.v1 import common_pb2 as R
from training.courses.v1 import courses_events_pb2 as events
from training.courses.v1 import courses_pb2 as pb
from training.identity.v1 import identity_pb2 as ipb
from training_testkit import wait_until
from training_testkit.rpc import rpc_failure
from training_testkit.streams import published

PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION


async def test_opening_a_class_publishes_everything_learning_needs(campus, people, nats_server) -> None:
    opened = await campus.open_class(lessons=(60, 90))
    assert opened.training_class.rulebook_version == "test-2026"
    assert opened.training_class.region_code == "440106"
    messages = await wait_until(
        lambda: published(nats_server.url, "TRAINING_COURSES", "training.courses.class.opened.v1", opened.class_id),
        what="class.opened",
    )
    event = events.ClassOpened.FromString(messages[0].data)
    assert event.rulebook_version == "test-2026"
    assert {(t.code, t.required_hours) for t in event.topics} == {("law", 1), ("safety", 1)}
    assert sorted(lesson.duration_seconds for lesson in event.lessons) == [60, 60, 90, 90]
    assert set(event.teacher_ids) == {opened.school.staff.user_id}

    trainee = await people.trainee()
    enrollment = await campus.enroll(opened, trainee)
    messages = await wait_until(
        lambda: published(
            nats_server.url, "TRAINING_COURSES", "training.courses.enrollment.created.v1", enrollment.enrollment_id
        ),
        what="enrollment.created",
    )
    created = events.EnrollmentCreated.FromString(messages[0].data)
    assert (created.trainee_id, created.class_id) == (trainee.user_id, opened.class_id)
    assert created.employer_credit_code == trainee.employer_code
    again = await rpc_failure(
        campus.stub.EnrollTrainee(
            pb.EnrollTraineeRequest(class_id=opened.class_id, trainee_id=trainee.user_id),
            metadata=opened.school.admin.metadata,
        ),
        grpc.StatusCode.ALREADY_EXISTS,
    )
    assert "already enrolled" in again.message


async def test_a_course_set_that_misses_a_topics_hours_opens_no_class(campus) -> None:
    school = await campus.school()
    syllabus = await campus.syllabus(topics=(("law", 2),))
    short = await campus.published_course(school, syllabus, "law", hours=1, lessons=(60,))
    failure = await rpc_failure(
        campus.stub.OpenClass(
            pb.OpenClassRequest(title="不足学时班", syllabus_id=syllabus.syllabus_id, course_ids=[short.course_id]),
            metadata=school.admin.metadata,
        ),
        PRECONDITION,
    )
    assert failure.reason == "SYLLABUS_NOT_COVERED"
    assert "law (1 of 2 h)" in failure.message


async def test_an_unpublished_course_cannot_join_a_class(campus) -> None:
    school = await campus.school()
    syllabus = await campus.syllabus(topics=(("law", 1),))
    draft = (
        await campus.stub.CreateCourse(
            pb.CreateCourseRequest(course=campus.new_course(school, syllabus, "law")), metadata=school.staff.metadata
        )
    ).course
    failure = await rpc_failure(
        campus.stub.OpenClass(
            pb.OpenClassRequest(title="草稿课程班", syllabus_id=syllabus.syllabus_id, course_ids=[draft.course_id]),
            metadata=school.admin.metadata,
        ),
        PRECONDITION,
    )
    assert failure.reason == "COURSE_NOT_PUBLISHED"


async def test_a_class_outside_the_approved_scope_is_refused(campus) -> None:
    school = await campus.school(
        qualification_types=[R.QUALIFICATION_TYPE_SAFETY_MANAGER_HIGH_RISK, R.QUALIFICATION_TYPE_SPECIAL_OPERATION]
    )
    principal = await campus.syllabus(qualification=R.QUALIFICATION_TYPE_PRINCIPAL_HIGH_RISK, topics=(("law", 1),))
    failure = await rpc_failure(
        campus.stub.CreateCourse(
            pb.CreateCourseRequest(course=campus.new_course(school, principal, "law")), metadata=school.staff.metadata
        ),
        PRECONDITION,
    )
    assert failure.reason == "OUTSIDE_APPROVED_SCOPE"


async def test_a_suspended_institution_opens_no_class_and_enrolls_no_one(campus, people) -> None:
    opened = await campus.open_class(topics=(("law", 1),))
    school = opened.school
    trainee = await people.trainee()
    await people.stub.SuspendInstitution(
        ipb.SuspendInstitutionRequest(institution_id=school.institution_id, reason="违规招生"),
        metadata=people.operator.metadata,
    )
    request = pb.OpenClassRequest(
        title="停业期间开班", syllabus_id=opened.syllabus.syllabus_id, course_ids=[c.course_id for c in opened.courses]
    )

    async def refused() -> str | None:
        try:
            await campus.stub.OpenClass(request, metadata=school.admin.metadata)
        except grpc.aio.AioRpcError as exc:
            return exc.code().name
        return None

    assert await wait_until(refused, what="courses to learn of the suspension") == "FAILED_PRECONDITION"
    failure = await rpc_failure(campus.stub.OpenClass(request, metadata=school.admin.metadata), PRECONDITION)
    assert failure.reason == "INSTITUTION_NOT_ACTIVE"
    failure = await rpc_failure(
        campus.stub.EnrollTrainee(
            pb.EnrollTraineeRequest(class_id=opened.class_id, trainee_id=trainee.user_id),
            metadata=school.staff.metadata,
        ),
        PRECONDITION,
    )
    assert failure.reason == "INSTITUTION_NOT_ACTIVE"
    listed = await campus.stub.ListEnrollments(
        pb.ListEnrollmentsRequest(class_id=opened.class_id), metadata=school.admin.metadata
    )
    assert list(listed.enrollments) == []

    await people.stub.ReinstateInstitution(
        ipb.ReinstateInstitutionRequest(institution_id=school.institution_id, reason="整改完成"),
        metadata=people.operator.metadata,
    )

    async def enrolled() -> pb.Enrollment | None:
        try:
            return (
                await campus.stub.EnrollTrainee(
                    pb.EnrollTraineeRequest(class_id=opened.class_id, trainee_id=trainee.user_id),
                    metadata=school.staff.metadata,
                )
            ).enrollment
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.FAILED_PRECONDITION:
                raise
            return None

    assert (await wait_until(enrolled, what="enrollment after reinstatement")).trainee_id == trainee.user_id


async def test_only_trainees_are_enrolled(campus, people) -> None:
    opened = await campus.open_class(topics=(("law", 1),))
    failure = await rpc_failure(
        campus.stub.EnrollTrainee(
            pb.EnrollTraineeRequest(class_id=opened.class_id, trainee_id=opened.school.staff.user_id),
            metadata=opened.school.admin.metadata,
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    assert "trainee" in failure.message
