"""Classes, courses, enrollments and progress (courses and learning): what a trainee studies and
how far they are, and the institution console's view of its classes."""

from __future__ import annotations

from fastapi import APIRouter

from training.common.v1 import common_pb2
from training.courses.v1 import courses_pb2 as cpb
from training.courses.v1 import courses_pb2_grpc
from training.learning.v1 import learning_pb2 as lpb
from training.learning.v1 import learning_pb2_grpc
from training_gateway.deps import Auth, Body, Id, Int32, PageSize, Services, Text, answers, enum_names, to_json

router = APIRouter(prefix="/api/v1", tags=["training"])


def _courses(services: Services) -> courses_pb2_grpc.CoursesServiceStub:
    return services.stub("courses", courses_pb2_grpc.CoursesServiceStub)


def _learning(services: Services) -> learning_pb2_grpc.LearningServiceStub:
    return services.stub("learning", learning_pb2_grpc.LearningServiceStub)


def _page(page_size: int, page_token: str) -> common_pb2.PageRequest:
    return common_pb2.PageRequest(page_size=page_size, page_token=page_token)


class OpenClassBody(Body):
    title: Text
    syllabus_id: Text
    course_ids: list[Text]


class EnrollBody(Body):
    trainee_id: Text


class RatingBody(Body):
    enrollment_id: Text
    course_id: Text
    course_rating: Int32
    teacher_rating: Int32
    comment: Text = ""


class ReviewAnomalyBody(Body):
    decision: enum_names(lpb.AnomalyDecision)  # type: ignore[valid-type]
    comment: Text = ""


@router.get(
    "/enrollments", summary="Enrollments the caller may see (a trainee its own)", **answers(cpb.ListEnrollmentsResponse)
)
async def list_enrollments(
    services: Services, auth: Auth, class_id: str = "", page_size: PageSize = 0, page_token: str = ""
):
    request = cpb.ListEnrollmentsRequest(page=_page(page_size, page_token), class_id=class_id)
    return to_json(await services.call(_courses(services).ListEnrollments, request, auth))


@router.get("/classes", summary="Training classes the caller may see", **answers(cpb.ListClassesResponse))
async def list_classes(
    services: Services, auth: Auth, institution_id: str = "", page_size: PageSize = 0, page_token: str = ""
):
    request = cpb.ListClassesRequest(page=_page(page_size, page_token), institution_id=institution_id)
    return to_json(await services.call(_courses(services).ListClasses, request, auth))


@router.post(
    "/classes", status_code=201, summary="Open a training class (institution admin)", **answers(cpb.OpenClassResponse)
)
async def open_class(body: OpenClassBody, services: Services, auth: Auth):
    request = cpb.OpenClassRequest(title=body.title, syllabus_id=body.syllabus_id, course_ids=body.course_ids)
    return to_json(await services.call(_courses(services).OpenClass, request, auth))


@router.get("/classes/{class_id}", summary="One training class", **answers(cpb.GetClassResponse))
async def get_class(class_id: Id, services: Services, auth: Auth):
    return to_json(await services.call(_courses(services).GetClass, cpb.GetClassRequest(class_id=class_id), auth))


@router.post(
    "/classes/{class_id}/enrollments",
    status_code=201,
    summary="Enroll a trainee into a class (institution admin or staff)",
    **answers(cpb.EnrollTraineeResponse),
)
async def enroll_trainee(class_id: Id, body: EnrollBody, services: Services, auth: Auth):
    request = cpb.EnrollTraineeRequest(class_id=class_id, trainee_id=body.trainee_id)
    return to_json(await services.call(_courses(services).EnrollTrainee, request, auth))


@router.get("/syllabi/{syllabus_id}", summary="One syllabus with its topics", **answers(cpb.GetSyllabusResponse))
async def get_syllabus(syllabus_id: Id, services: Services, auth: Auth):
    request = cpb.GetSyllabusRequest(syllabus_id=syllabus_id)
    return to_json(await services.call(_courses(services).GetSyllabus, request, auth))


@router.get("/courses", summary="Courses the caller may see", **answers(cpb.ListCoursesResponse))
async def list_courses(
    services: Services,
    auth: Auth,
    status: enum_names(cpb.CourseStatus) | None = None,  # type: ignore[valid-type]
    institution_id: str = "",
    page_size: PageSize = 0,
    page_token: str = "",
):
    request = cpb.ListCoursesRequest(
        page=_page(page_size, page_token),
        status=cpb.CourseStatus.Value(status) if status else 0,
        institution_id=institution_id,
    )
    return to_json(await services.call(_courses(services).ListCourses, request, auth))


@router.get("/courses/{course_id}", summary="One course with its lessons", **answers(cpb.GetCourseResponse))
async def get_course(course_id: Id, services: Services, auth: Auth):
    return to_json(await services.call(_courses(services).GetCourse, cpb.GetCourseRequest(course_id=course_id), auth))


@router.post(
    "/ratings", status_code=201, summary="Rate a finished course and its teacher", **answers(cpb.RateCourseResponse)
)
async def rate_course(body: RatingBody, services: Services, auth: Auth):
    request = cpb.RateCourseRequest(**body.model_dump())
    return to_json(await services.call(_courses(services).RateCourse, request, auth))


@router.get(
    "/enrollments/{enrollment_id}/progress",
    summary="Credited hours per lesson, topic and class",
    **answers(lpb.GetProgressResponse),
)
async def get_progress(enrollment_id: Id, services: Services, auth: Auth):
    request = lpb.GetProgressRequest(enrollment_id=enrollment_id)
    return to_json(await services.call(_learning(services).GetProgress, request, auth))


@router.get(
    "/enrollments/{enrollment_id}/ledger",
    summary="Every credited and rejected interval with its reason and evidence",
    **answers(lpb.ExplainHoursResponse),
)
async def explain_hours(
    enrollment_id: Id, services: Services, auth: Auth, page_size: PageSize = 0, page_token: str = ""
):
    request = lpb.ExplainHoursRequest(enrollment_id=enrollment_id, page=_page(page_size, page_token))
    return to_json(await services.call(_learning(services).ExplainHours, request, auth))


@router.get(
    "/anomalies", summary="Proxy-learning anomalies (institution, regulator)", **answers(lpb.ListAnomaliesResponse)
)
async def list_anomalies(
    services: Services,
    auth: Auth,
    status: enum_names(lpb.AnomalyStatus) | None = None,  # type: ignore[valid-type]
    page_size: PageSize = 0,
    page_token: str = "",
):
    request = lpb.ListAnomaliesRequest(
        page=_page(page_size, page_token), status=lpb.AnomalyStatus.Value(status) if status else 0
    )
    return to_json(await services.call(_learning(services).ListAnomalies, request, auth))


@router.post(
    "/anomalies/{anomaly_id}/review",
    summary="Clear or confirm an anomaly (institution)",
    **answers(lpb.ReviewAnomalyResponse),
)
async def review_anomaly(anomaly_id: Id, body: ReviewAnomalyBody, services: Services, auth: Auth):
    request = lpb.ReviewAnomalyRequest(
        anomaly_id=anomaly_id, decision=lpb.AnomalyDecision.Value(body.decision), comment=body.comment
    )
    return to_json(await services.call(_learning(services).ReviewAnomaly, request, auth))
