"""The gRPC servicer: protobuf in, application call, protobuf out. No rules live here."""

from __future__ import annotations

import grpc

from training.courses.v1 import courses_pb2 as pb
from training.courses.v1 import courses_pb2_grpc
from training_courses.app.classes import Classes
from training_courses.app.courses import CourseDraft, Courses
from training_courses.app.quality import Quality
from training_courses.app.syllabi import Syllabi
from training_courses.app.views import ClassView, CourseView, EnrollmentView, SyllabusView
from training_courses.domain.content import LessonDraft, TopicDraft
from training_courses.domain.review import CourseStatus
from training_runtime.auth import require_principal
from training_runtime.auth.principal import Role
from training_runtime.errors import InvalidArgument
from training_runtime.protoconv import (
    kind_from_proto,
    kind_to_proto,
    qualification_from_proto,
    qualification_to_proto,
    role_to_proto,
    timestamp,
)

_STATUS = {s: pb.CourseStatus.Value(f"COURSE_STATUS_{s.name}") for s in CourseStatus}
_STATUS_BACK = {v: k for k, v in _STATUS.items()}
_SCOPE = {
    pb.QUALITY_SCOPE_COURSE: "course",
    pb.QUALITY_SCOPE_TEACHER: "teacher",
    pb.QUALITY_SCOPE_INSTITUTION: "institution",
}
_SCOPE_BACK = {v: k for k, v in _SCOPE.items()}


def syllabus_pb(s: SyllabusView) -> pb.Syllabus:
    return pb.Syllabus(
        syllabus_id=s.syllabus_id,
        title=s.title,
        qualification_type=qualification_to_proto(s.qualification_type),
        operation_type=s.operation_type,
        training_kind=kind_to_proto(s.training_kind),
        total_hours=s.total_hours,
        topics=[
            pb.SyllabusTopic(topic_id=t.topic_id, code=t.code, title=t.title, required_hours=t.required_hours)
            for t in s.topics
        ],
        rulebook_version=s.rulebook_version,
        created_at=timestamp(s.created_at),
    )


def course_pb(c: CourseView) -> pb.Course:
    return pb.Course(
        course_id=c.course_id,
        institution_id=c.institution_id,
        title=c.title,
        syllabus_id=c.syllabus_id,
        topic_id=c.topic_id,
        credited_hours=c.credited_hours,
        teacher_id=c.teacher_id,
        lessons=[
            pb.Lesson(
                lesson_id=lesson.lesson_id,
                title=lesson.title,
                duration_seconds=lesson.duration_seconds,
                media_ref=lesson.media_ref,
            )
            for lesson in c.lessons
        ],
        version=c.version,
        status=_STATUS[c.status],
        region_code=c.region_code,
        created_at=timestamp(c.created_at),
        updated_at=timestamp(c.updated_at),
        qualification_type=qualification_to_proto(c.qualification_type),
    )


def class_pb(c: ClassView) -> pb.TrainingClass:
    return pb.TrainingClass(
        class_id=c.class_id,
        institution_id=c.institution_id,
        title=c.title,
        syllabus_id=c.syllabus_id,
        qualification_type=qualification_to_proto(c.qualification_type),
        operation_type=c.operation_type,
        training_kind=kind_to_proto(c.training_kind),
        course_ids=c.course_ids,
        rulebook_version=c.rulebook_version,
        region_code=c.region_code,
        opened_at=timestamp(c.opened_at),
        enrolled_count=c.enrolled_count,
    )


def enrollment_pb(e: EnrollmentView) -> pb.Enrollment:
    return pb.Enrollment(
        enrollment_id=e.enrollment_id,
        class_id=e.class_id,
        trainee_id=e.trainee_id,
        institution_id=e.institution_id,
        region_code=e.region_code,
        enrolled_at=timestamp(e.enrolled_at),
        enrolled_by=e.enrolled_by,
    )


def draft_of(c: pb.NewCourse) -> CourseDraft:
    return CourseDraft(
        title=c.title,
        syllabus_id=c.syllabus_id,
        topic_id=c.topic_id,
        credited_hours=c.credited_hours,
        teacher_id=c.teacher_id,
        lessons=[LessonDraft(lesson.title, lesson.duration_seconds, lesson.media_ref) for lesson in c.lessons],
    )


class CoursesServicer(courses_pb2_grpc.CoursesServiceServicer):
    def __init__(self, syllabi: Syllabi, courses: Courses, classes: Classes, quality: Quality) -> None:
        self._syllabi = syllabi
        self._courses = courses
        self._classes = classes
        self._quality = quality

    async def CreateSyllabus(
        self, request: pb.CreateSyllabusRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateSyllabusResponse:
        syllabus = await self._syllabi.create(
            require_principal(),
            title=request.title,
            qualification=qualification_from_proto(request.qualification_type),
            operation_type=request.operation_type,
            kind=kind_from_proto(request.training_kind),
            total_hours=request.total_hours,
            topics=[TopicDraft(t.code, t.title, t.required_hours) for t in request.topics],
        )
        return pb.CreateSyllabusResponse(syllabus=syllabus_pb(syllabus))

    async def GetSyllabus(
        self, request: pb.GetSyllabusRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetSyllabusResponse:
        return pb.GetSyllabusResponse(syllabus=syllabus_pb(await self._syllabi.get(request.syllabus_id)))

    async def ListSyllabi(
        self, request: pb.ListSyllabiRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSyllabiResponse:
        page = await self._syllabi.list(
            page_size=request.page.page_size,
            page_token=request.page.page_token,
            qualification=qualification_from_proto(request.qualification_type),
            kind=kind_from_proto(request.training_kind),
        )
        return pb.ListSyllabiResponse(
            syllabi=[syllabus_pb(s) for s in page.items], next_page_token=page.next_page_token
        )

    async def CreateCourse(
        self, request: pb.CreateCourseRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateCourseResponse:
        course = await self._courses.create(require_principal(), draft_of(request.course))
        return pb.CreateCourseResponse(course=course_pb(course))

    async def UpdateCourse(
        self, request: pb.UpdateCourseRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateCourseResponse:
        course = await self._courses.update(
            require_principal(), request.course_id, request.version, draft_of(request.course)
        )
        return pb.UpdateCourseResponse(course=course_pb(course))

    async def SubmitCourse(
        self, request: pb.SubmitCourseRequest, context: grpc.aio.ServicerContext
    ) -> pb.SubmitCourseResponse:
        course = await self._courses.step(
            require_principal(), request.course_id, request.version, "submit", request.comment
        )
        return pb.SubmitCourseResponse(course=course_pb(course))

    async def ReviewCourse(
        self, request: pb.ReviewCourseRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReviewCourseResponse:
        action = {pb.REVIEW_DECISION_APPROVE: "approve", pb.REVIEW_DECISION_REJECT: "reject"}.get(request.decision)
        if action is None:
            raise InvalidArgument("decision", "must be APPROVE or REJECT")
        course = await self._courses.step(
            require_principal(), request.course_id, request.version, action, request.comment
        )
        return pb.ReviewCourseResponse(course=course_pb(course))

    async def AcceptCourse(
        self, request: pb.AcceptCourseRequest, context: grpc.aio.ServicerContext
    ) -> pb.AcceptCourseResponse:
        course = await self._courses.step(
            require_principal(), request.course_id, request.version, "accept", request.comment
        )
        return pb.AcceptCourseResponse(course=course_pb(course))

    async def PublishCourse(
        self, request: pb.PublishCourseRequest, context: grpc.aio.ServicerContext
    ) -> pb.PublishCourseResponse:
        course = await self._courses.step(require_principal(), request.course_id, request.version, "publish", "")
        return pb.PublishCourseResponse(course=course_pb(course))

    async def WithdrawCourse(
        self, request: pb.WithdrawCourseRequest, context: grpc.aio.ServicerContext
    ) -> pb.WithdrawCourseResponse:
        course = await self._courses.withdraw(require_principal(), request.course_id, request.reason)
        return pb.WithdrawCourseResponse(course=course_pb(course))

    async def GetCourse(self, request: pb.GetCourseRequest, context: grpc.aio.ServicerContext) -> pb.GetCourseResponse:
        return pb.GetCourseResponse(course=course_pb(await self._courses.get(require_principal(), request.course_id)))

    async def ListCourses(
        self, request: pb.ListCoursesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListCoursesResponse:
        page = await self._courses.list(
            require_principal(),
            page_size=request.page.page_size,
            page_token=request.page.page_token,
            status=_STATUS_BACK.get(request.status),
            institution_id=request.institution_id,
        )
        return pb.ListCoursesResponse(courses=[course_pb(c) for c in page.items], next_page_token=page.next_page_token)

    async def ListCourseDecisions(
        self, request: pb.ListCourseDecisionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListCourseDecisionsResponse:
        decisions = await self._courses.decisions(require_principal(), request.course_id)
        return pb.ListCourseDecisionsResponse(
            decisions=[
                pb.CourseDecision(
                    decision_id=d.decision_id,
                    course_id=d.course_id,
                    version=d.version,
                    status=_STATUS[d.status],
                    actor_id=d.actor_id,
                    actor_role=role_to_proto(Role(d.actor_role)),
                    comment=d.comment,
                    decided_at=timestamp(d.decided_at),
                )
                for d in decisions
            ]
        )

    async def OpenClass(self, request: pb.OpenClassRequest, context: grpc.aio.ServicerContext) -> pb.OpenClassResponse:
        view = await self._classes.open(
            require_principal(),
            title=request.title,
            syllabus_id=request.syllabus_id,
            course_ids=list(request.course_ids),
        )
        return pb.OpenClassResponse(training_class=class_pb(view))

    async def GetClass(self, request: pb.GetClassRequest, context: grpc.aio.ServicerContext) -> pb.GetClassResponse:
        return pb.GetClassResponse(
            training_class=class_pb(await self._classes.get(require_principal(), request.class_id))
        )

    async def ListClasses(
        self, request: pb.ListClassesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListClassesResponse:
        page = await self._classes.list(
            require_principal(),
            page_size=request.page.page_size,
            page_token=request.page.page_token,
            institution_id=request.institution_id,
        )
        return pb.ListClassesResponse(
            training_classes=[class_pb(c) for c in page.items], next_page_token=page.next_page_token
        )

    async def EnrollTrainee(
        self, request: pb.EnrollTraineeRequest, context: grpc.aio.ServicerContext
    ) -> pb.EnrollTraineeResponse:
        view = await self._classes.enroll(require_principal(), request.class_id, request.trainee_id)
        return pb.EnrollTraineeResponse(enrollment=enrollment_pb(view))

    async def ListEnrollments(
        self, request: pb.ListEnrollmentsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListEnrollmentsResponse:
        page = await self._classes.enrollments(
            require_principal(),
            page_size=request.page.page_size,
            page_token=request.page.page_token,
            class_id=request.class_id,
        )
        return pb.ListEnrollmentsResponse(
            enrollments=[enrollment_pb(e) for e in page.items], next_page_token=page.next_page_token
        )

    async def RateCourse(
        self, request: pb.RateCourseRequest, context: grpc.aio.ServicerContext
    ) -> pb.RateCourseResponse:
        rating_id, rated_at = await self._quality.rate(
            require_principal(),
            request.enrollment_id,
            request.course_id,
            request.course_rating,
            request.teacher_rating,
            request.comment,
        )
        return pb.RateCourseResponse(rating_id=rating_id, rated_at=timestamp(rated_at))

    async def GetQualityFigures(
        self, request: pb.GetQualityFiguresRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetQualityFiguresResponse:
        view = await self._quality.figures(require_principal(), _SCOPE.get(request.scope), request.subject_id)
        return pb.GetQualityFiguresResponse(
            figures=pb.QualityFigures(
                scope=_SCOPE_BACK[view.scope],
                subject_id=view.subject_id,
                ratings=view.ratings,
                mean_course_rating=view.mean_course_rating,
                mean_teacher_rating=view.mean_teacher_rating,
                trainees=view.trainees,
                completion_rate=view.completion_rate,
                hours_per_trainee=view.hours_per_trainee,
                anomaly_rate=view.anomaly_rate,
            )
        )
