"""Authorization: every courses RPC called by every role is allowed or refused exactly as declared,
and no class, enrollment or figure outside the caller's institution or region is returned."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import descriptor_pool

from training.common.v1 import common_pb2 as R
from training.courses.v1 import courses_pb2 as pb
from training_courses.testing import ROLES, assert_access, role_name
from training_testkit.rpc import rpc_failure

SERVICE = "training.courses.v1.CoursesService"
SIGNED_IN = set(ROLES) - {0}
INSTITUTION = {R.ROLE_INSTITUTION_ADMIN, R.ROLE_INSTITUTION_STAFF}
READ_CLASSES = {R.ROLE_TRAINEE, *INSTITUTION, R.ROLE_OPERATOR, R.ROLE_REGULATOR, R.ROLE_SERVICE}

# The declared access table, written out so a change to the policy shows up here as well.
EXPECTED: dict[str, set[int]] = {
    "CreateSyllabus": {R.ROLE_OPERATOR},
    "GetSyllabus": SIGNED_IN,
    "ListSyllabi": SIGNED_IN,
    "CreateCourse": INSTITUTION,
    "UpdateCourse": INSTITUTION,
    "SubmitCourse": INSTITUTION,
    "ReviewCourse": {R.ROLE_OPERATOR},
    "AcceptCourse": {R.ROLE_INSTITUTION_ADMIN},
    "PublishCourse": {R.ROLE_INSTITUTION_ADMIN},
    "WithdrawCourse": {R.ROLE_OPERATOR, R.ROLE_REGULATOR, R.ROLE_SERVICE},
    "GetCourse": SIGNED_IN,
    "ListCourses": SIGNED_IN,
    "ListCourseDecisions": {*INSTITUTION, R.ROLE_OPERATOR, R.ROLE_REGULATOR, R.ROLE_SERVICE},
    "OpenClass": {R.ROLE_INSTITUTION_ADMIN},
    "GetClass": READ_CLASSES,
    "ListClasses": READ_CLASSES,
    "EnrollTrainee": INSTITUTION,
    "ListEnrollments": READ_CLASSES | {R.ROLE_EMPLOYER},
    "RateCourse": {R.ROLE_TRAINEE},
    "GetQualityFigures": {*INSTITUTION, R.ROLE_OPERATOR, R.ROLE_REGULATOR},
}


def test_the_table_names_every_rpc() -> None:
    service = descriptor_pool.Default().FindServiceByName(SERVICE)
    assert set(EXPECTED) == {m.name for m in service.methods}


@pytest.mark.parametrize("method", sorted(EXPECTED))
@pytest.mark.parametrize("role", ROLES, ids=role_name)
async def test_every_role_on_every_rpc(courses_stub, every_role, method: str, role: int) -> None:
    caller = every_role[role]
    request_type = descriptor_pool.Default().FindServiceByName(SERVICE).methods_by_name[method].input_type.name
    call = getattr(courses_stub, method)(getattr(pb, request_type)(), metadata=caller.metadata if caller else ())
    await assert_access(call, role=role, allowed=EXPECTED[method])


async def test_no_class_enrollment_or_figure_outside_the_callers_scope_is_returned(campus, people) -> None:
    guangzhou = await campus.open_class(topics=(("law", 1),), region="440106")
    shanghai = await campus.open_class(topics=(("law", 1),), region="310101")
    gd_trainee, sh_trainee = await people.trainee(), await people.trainee(region="310101")
    await campus.enroll(guangzhou, gd_trainee)
    await campus.enroll(shanghai, sh_trainee)
    gd_regulator = await people.account(R.ROLE_REGULATOR, region_code="440000")
    employer = await people.account(R.ROLE_EMPLOYER, employer_code=gd_trainee.employer_code)

    async def classes(viewer) -> set[str]:  # type: ignore[no-untyped-def]
        listed = await campus.stub.ListClasses(
            pb.ListClassesRequest(page=R.PageRequest(page_size=200)), metadata=viewer.metadata
        )
        return {c.class_id for c in listed.training_classes}

    async def enrolled(viewer) -> set[str]:  # type: ignore[no-untyped-def]
        listed = await campus.stub.ListEnrollments(
            pb.ListEnrollmentsRequest(page=R.PageRequest(page_size=200)), metadata=viewer.metadata
        )
        return {e.trainee_id for e in listed.enrollments}

    assert await classes(guangzhou.school.admin) == {guangzhou.class_id}
    assert await classes(gd_trainee) == {guangzhou.class_id}
    regional = await classes(gd_regulator)
    assert guangzhou.class_id in regional
    assert shanghai.class_id not in regional
    assert await enrolled(guangzhou.school.staff) == {gd_trainee.user_id}
    assert await enrolled(sh_trainee) == {sh_trainee.user_id}
    assert await enrolled(employer) == {gd_trainee.user_id}
    assert sh_trainee.user_id not in await enrolled(gd_regulator)

    for viewer, class_id in (
        (guangzhou.school.admin, shanghai.class_id),
        (gd_regulator, shanghai.class_id),
        (gd_trainee, shanghai.class_id),
    ):
        hidden = await rpc_failure(
            campus.stub.GetClass(pb.GetClassRequest(class_id=class_id), metadata=viewer.metadata)
        )
        assert hidden.code == grpc.StatusCode.NOT_FOUND
    for viewer in (guangzhou.school.admin, gd_regulator):
        hidden = await rpc_failure(
            campus.stub.GetQualityFigures(
                pb.GetQualityFiguresRequest(
                    scope=pb.QUALITY_SCOPE_INSTITUTION, subject_id=shanghai.school.institution_id
                ),
                metadata=viewer.metadata,
            )
        )
        assert hidden.code == grpc.StatusCode.NOT_FOUND
    # Another institution's staff cannot enroll into, or publish for, a class or course that is not theirs.
    other = await rpc_failure(
        campus.stub.EnrollTrainee(
            pb.EnrollTraineeRequest(class_id=shanghai.class_id, trainee_id=gd_trainee.user_id),
            metadata=guangzhou.school.staff.metadata,
        )
    )
    assert other.code == grpc.StatusCode.NOT_FOUND
