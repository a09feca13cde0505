"""Authorization: every learning RPC called by every role is allowed or refused exactly as declared,
and progress, explanations and amendments are scoped to the trainee, its institution, its region
and its employer."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import descriptor_pool

from training.common.v1 import common_pb2 as R
from training.learning.v1 import learning_pb2 as pb
from training_courses.testing import ROLES, assert_access, role_name
from training_testkit.rpc import rpc_failure

SERVICE = "training.learning.v1.LearningService"
READERS = {
    R.ROLE_TRAINEE,
    R.ROLE_INSTITUTION_ADMIN,
    R.ROLE_INSTITUTION_STAFF,
    R.ROLE_REGULATOR,
    R.ROLE_EMPLOYER,
    R.ROLE_SERVICE,
}

# The declared access table, written out so a change to the policy shows up here as well.
EXPECTED: dict[str, set[int]] = {
    "StartStudy": {R.ROLE_TRAINEE},
    "SendHeartbeat": {R.ROLE_TRAINEE},
    "StreamHeartbeats": {R.ROLE_TRAINEE},
    "SubmitFaceCheck": {R.ROLE_TRAINEE},
    "EndStudy": {R.ROLE_TRAINEE},
    "GetProgress": READERS,
    "ExplainHours": READERS,
    "ListStudyRecords": READERS,
    "ListAnomalies": {R.ROLE_INSTITUTION_ADMIN, R.ROLE_INSTITUTION_STAFF, R.ROLE_REGULATOR},
    "ReviewAnomaly": {R.ROLE_INSTITUTION_ADMIN, R.ROLE_INSTITUTION_STAFF},
    "CorrectHours": {R.ROLE_INSTITUTION_ADMIN},
    "InvalidateHours": {R.ROLE_INSTITUTION_ADMIN, R.ROLE_REGULATOR, R.ROLE_SERVICE},
}


def test_the_table_names_every_rpc() -> None:
    service = descriptor_pool.Default().FindServiceByName(SERVICE)
    assert set(EXPECTED) == {m.name for m in service.methods}


@pytest.mark.parametrize("method", sorted(EXPECTED))
@pytest.mark.parametrize("role", ROLES, ids=role_name)
async def test_every_role_on_every_rpc(learning_stub, every_role, method: str, role: int) -> None:
    caller = every_role[role]
    metadata = caller.metadata if caller else ()
    if method == "StreamHeartbeats":
        call = learning_stub.StreamHeartbeats(iter([pb.StreamHeartbeatsRequest()]), metadata=metadata)

        async def drain() -> None:
            async for _ in call:
                pass

        await assert_access(drain(), role=role, allowed=EXPECTED[method])
        return
    request_type = descriptor_pool.Default().FindServiceByName(SERVICE).methods_by_name[method].input_type.name
    call = getattr(learning_stub, method)(getattr(pb, request_type)(), metadata=metadata)
    await assert_access(call, role=role, allowed=EXPECTED[method])


async def test_progress_and_amendments_are_scoped_to_trainee_institution_region_and_employer(
    classroom, campus, people
) -> None:
    guangzhou = await campus.open_class(topics=(("law", 1),), region="440106")
    shanghai = await campus.open_class(topics=(("law", 1),), region="310101")
    gd_trainee = await people.trainee()
    sh_trainee = await people.trainee(region="310101")
    gd_enrollment = await classroom.enrolled(guangzhou, gd_trainee)
    sh_enrollment = await classroom.enrolled(shanghai, sh_trainee)
    guangdong = await people.account(R.ROLE_REGULATOR, region_code="440000")
    shanghai_regulator = await people.account(R.ROLE_REGULATOR, region_code="310000")
    gd_employer = await people.account(R.ROLE_EMPLOYER, employer_code=gd_trainee.employer_code)
    stranger = await people.account(R.ROLE_EMPLOYER)

    for viewer in (gd_trainee, guangzhou.school.admin, guangzhou.school.staff, guangdong, gd_employer):
        progress = await classroom.progress(viewer, gd_enrollment)
        assert progress.trainee_id == gd_trainee.user_id
        assert progress.state == pb.ENROLLMENT_STATE_STUDYING
        assert progress.rulebook_version == "test-2026"
        assert [(t.code, t.required_hours, t.met) for t in progress.topics] == [("law", 1, False)]
    for viewer in (sh_trainee, shanghai.school.admin, shanghai_regulator, stranger):
        hidden = await rpc_failure(
            classroom.stub.GetProgress(pb.GetProgressRequest(enrollment_id=gd_enrollment), metadata=viewer.metadata)
        )
        assert hidden.code == grpc.StatusCode.NOT_FOUND
        hidden = await rpc_failure(
            classroom.stub.ExplainHours(pb.ExplainHoursRequest(enrollment_id=gd_enrollment), metadata=viewer.metadata)
        )
        assert hidden.code == grpc.StatusCode.NOT_FOUND
        hidden = await rpc_failure(
            classroom.stub.ListStudyRecords(
                pb.ListStudyRecordsRequest(enrollment_id=gd_enrollment), metadata=viewer.metadata
            )
        )
        assert hidden.code == grpc.StatusCode.NOT_FOUND

    lesson = guangzhou.lessons()[0].lesson_id
    outside = await rpc_failure(
        classroom.stub.CorrectHours(
            pb.CorrectHoursRequest(enrollment_id=sh_enrollment, lesson_id=lesson, seconds=30, reason="系统故障补录"),
            metadata=guangzhou.school.admin.metadata,
        )
    )
    assert outside.code == grpc.StatusCode.NOT_FOUND
    outside = await rpc_failure(
        classroom.stub.InvalidateHours(
            pb.InvalidateHoursRequest(enrollment_id=sh_enrollment, reason="越权作废"), metadata=guangdong.metadata
        )
    )
    assert outside.code == grpc.StatusCode.NOT_FOUND
