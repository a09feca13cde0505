"""Demo training data for `make run`: the demo school's syllabus, courses and class, and the demo
trainee enrolled, through the courses API. Idempotent: everything is found by its title first."""

from __future__ import annotations

import asyncio

import grpc

from training.common.v1 import common_pb2
from training.courses.v1 import courses_pb2 as cpb
from training.courses.v1 import courses_pb2_grpc
from training.identity.v1 import identity_pb2 as ipb
from training.identity.v1 import identity_pb2_grpc
from training.learning.v1 import learning_pb2 as lpb
from training.learning.v1 import learning_pb2_grpc
from training_devstack.demo import DEMO_PASSWORD, DEMO_TRAINEE_ID, _auth

SYLLABUS_TITLE = "危险化学品生产单位安全管理人员初训大纲（演示）"
CLASS_TITLE = "2026年第1期安全管理人员初训班（演示）"
# The bundled 75-second test pattern (training_devstack/media): one demo class hour is one minute, and
# a lesson a little longer than that leaves room for the heartbeats' timing (media/README.md).
MEDIA = "media://demo/demo-lesson-75s.mp4"
LESSON_SECONDS = 75
TOPICS = (("law", "安全生产法律法规", "安全生产法律法规要点"), ("hazard", "危险化学品安全管理", "危险化学品辨识与管控"))


async def _retry_until_known(call):  # type: ignore[no-untyped-def]
    """Courses learns of the institution from identity's events; wait for it (at most a minute)."""
    for _ in range(120):
        try:
            return await call()
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.FAILED_PRECONDITION or "not known" not in (exc.details() or ""):
                raise
        await asyncio.sleep(0.5)
    raise SystemExit("courses did not learn of the demo institution within a minute")


async def seed_training(host: str, secrets: dict[str, str]) -> list[str]:
    async with (
        grpc.aio.insecure_channel(f"{host}:50051") as identity_channel,
        grpc.aio.insecure_channel(f"{host}:50052") as courses_channel,
        grpc.aio.insecure_channel(f"{host}:50053") as learning_channel,
    ):
        identity = identity_pb2_grpc.IdentityServiceStub(identity_channel)
        courses = courses_pb2_grpc.CoursesServiceStub(courses_channel)
        learning = learning_pb2_grpc.LearningServiceStub(learning_channel)

        async def login(name: str, password: str = DEMO_PASSWORD) -> ipb.LoginResponse:
            return await identity.Login(ipb.LoginRequest(login=name, password=password))

        operator = _auth((await login("operator", secrets["operator_password"])).tokens.access_token)
        admin_login = await login("demo-school")
        admin = _auth(admin_login.tokens.access_token)
        teacher_login = await login("demo-teacher")
        teacher = _auth(teacher_login.tokens.access_token)
        trainee_login = await login(DEMO_TRAINEE_ID)

        listed = await courses.ListSyllabi(cpb.ListSyllabiRequest(), metadata=operator)
        syllabus = next((s for s in listed.syllabi if s.title == SYLLABUS_TITLE), None)
        if syllabus is None:
            syllabus = (
                await courses.CreateSyllabus(
                    cpb.CreateSyllabusRequest(
                        title=SYLLABUS_TITLE,
                        qualification_type=common_pb2.QUALIFICATION_TYPE_SAFETY_MANAGER_HIGH_RISK,
                        training_kind=common_pb2.TRAINING_KIND_INITIAL,
                        total_hours=3,
                        topics=[
                            cpb.SyllabusTopic(code=code, title=title, required_hours=1) for code, title, _ in TOPICS
                        ],
                    ),
                    metadata=operator,
                )
            ).syllabus

        existing = {c.title: c for c in (await courses.ListCourses(cpb.ListCoursesRequest(), metadata=admin)).courses}
        published = []
        for code, _, title in TOPICS:
            topic = next(t for t in syllabus.topics if t.code == code)
            course = existing.get(title)
            if course is None:
                new = cpb.NewCourse(
                    title=title,
                    syllabus_id=syllabus.syllabus_id,
                    topic_id=topic.topic_id,
                    credited_hours=1,
                    teacher_id=teacher_login.user.user_id,
                    lessons=[cpb.Lesson(title=f"{title}（第1讲）", duration_seconds=LESSON_SECONDS, media_ref=MEDIA)],
                )
                course = (
                    await _retry_until_known(
                        lambda new=new: courses.CreateCourse(cpb.CreateCourseRequest(course=new), metadata=teacher)
                    )
                ).course
            published.append(await _publish(courses, course, teacher=teacher, operator=operator, admin=admin))

        classes = (await courses.ListClasses(cpb.ListClassesRequest(), metadata=admin)).training_classes
        training_class = next((c for c in classes if c.title == CLASS_TITLE), None)
        if training_class is None:
            training_class = (
                await courses.OpenClass(
                    cpb.OpenClassRequest(
                        title=CLASS_TITLE,
                        syllabus_id=syllabus.syllabus_id,
                        course_ids=[c.course_id for c in published],
                    ),
                    metadata=admin,
                )
            ).training_class
        try:
            enrollment = (
                await courses.EnrollTrainee(
                    cpb.EnrollTraineeRequest(class_id=training_class.class_id, trainee_id=trainee_login.user.user_id),
                    metadata=admin,
                )
            ).enrollment
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise
            mine = await courses.ListEnrollments(
                cpb.ListEnrollmentsRequest(class_id=training_class.class_id),
                metadata=_auth(trainee_login.tokens.access_token),
            )
            enrollment = mine.enrollments[0]
        trainee = _auth(trainee_login.tokens.access_token)
        for _ in range(120):
            try:
                await learning.GetProgress(
                    lpb.GetProgressRequest(enrollment_id=enrollment.enrollment_id), metadata=trainee
                )
                break
            except grpc.aio.AioRpcError as exc:
                if exc.code() != grpc.StatusCode.NOT_FOUND:
                    raise
            await asyncio.sleep(0.5)
    lessons = ", ".join(lesson.lesson_id for c in published for lesson in c.lessons)
    return [
        "",
        f"Demo class: {CLASS_TITLE} ({training_class.class_id}), rulebook {training_class.rulebook_version}:",
        "  one class hour is one minute of verified study; 1 hour per topic completes the class",
        f"  enrollment {enrollment.enrollment_id}; lessons {lessons}",
        "  study: LearningService/StartStudy (needs the trainee's enrolled face), SendHeartbeat every 10 s,",
        "  SubmitFaceCheck when an answer says a check is due, EndStudy with a closing check",
    ]


async def _publish(
    courses: courses_pb2_grpc.CoursesServiceStub,
    course: cpb.Course,
    *,
    teacher,
    operator,  # type: ignore[no-untyped-def]
    admin,
) -> cpb.Course:
    """Take a demo course through whatever review steps it still needs."""
    ref = {"course_id": course.course_id, "version": course.version}
    if course.status == cpb.COURSE_STATUS_DRAFT:
        course = (await courses.SubmitCourse(cpb.SubmitCourseRequest(**ref), metadata=teacher)).course
    if course.status == cpb.COURSE_STATUS_SUBMITTED:
        course = (
            await courses.ReviewCourse(
                cpb.ReviewCourseRequest(**ref, decision=cpb.REVIEW_DECISION_APPROVE, comment="演示课程审核通过"),
                metadata=operator,
            )
        ).course
    if course.status == cpb.COURSE_STATUS_APPROVED:
        course = (await courses.AcceptCourse(cpb.AcceptCourseRequest(**ref), metadata=admin)).course
    if course.status == cpb.COURSE_STATUS_ACCEPTED:
        course = (await courses.PublishCourse(cpb.PublishCourseRequest(**ref), metadata=admin)).course
    return course
