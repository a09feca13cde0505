"""Authorization: every exams RPC called by every role is allowed or refused exactly as declared,
and rows are scoped: a trainee sees its own attempts and its classes' exams, an institution its own
classes', a regulator its region's, an employer its staff's attempts."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import descriptor_pool

from training.common.v1 import common_pb2 as R
from training.exams.v1 import exams_events_pb2 as ev
from training.exams.v1 import exams_pb2 as pb
from training_courses.testing import ROLES, assert_access, role_name
from training_testkit.rpc import rpc_failure

SERVICE = "training.exams.v1.ExamsService"
INSTITUTION = {R.ROLE_INSTITUTION_ADMIN, R.ROLE_INSTITUTION_STAFF}
SUPERVISORS = INSTITUTION | {R.ROLE_OPERATOR, R.ROLE_REGULATOR}

# The declared access table, written out so a change to the policy shows up here as well.
EXPECTED: dict[str, set[int]] = {
    "ImportBank": INSTITUTION | {R.ROLE_OPERATOR},
    "ReviewBankVersion": {R.ROLE_OPERATOR},
    "GetBank": SUPERVISORS | {R.ROLE_SERVICE},
    "ListBanks": SUPERVISORS | {R.ROLE_SERVICE},
    "ExportBank": INSTITUTION | {R.ROLE_OPERATOR},
    "CreateExam": {R.ROLE_INSTITUTION_ADMIN},
    "GetExam": SUPERVISORS | {R.ROLE_TRAINEE, R.ROLE_SERVICE},
    "ListExams": SUPERVISORS | {R.ROLE_TRAINEE, R.ROLE_SERVICE},
    "PreviewPaper": SUPERVISORS,
    "StartAttempt": {R.ROLE_TRAINEE},
    "SaveAnswer": {R.ROLE_TRAINEE},
    "RecordPageLeave": {R.ROLE_TRAINEE},
    "SubmitAttempt": {R.ROLE_TRAINEE},
    "GetAttempt": SUPERVISORS | {R.ROLE_TRAINEE, R.ROLE_EMPLOYER, R.ROLE_SERVICE},
    "ListAttempts": SUPERVISORS | {R.ROLE_TRAINEE, R.ROLE_EMPLOYER, R.ROLE_SERVICE},
}


def test_the_table_names_every_rpc() -> None:
    service = descriptor_pool.Default().FindServiceByName(SERVICE)
    assert set(EXPECTED) == {m.name for m in service.methods}


@pytest.mark.parametrize("method", sorted(EXPECTED))
@pytest.mark.parametrize("role", ROLES, ids=role_name)
async def test_every_role_on_every_rpc(exams_stub, every_role, method: str, role: int) -> None:
    caller = every_role[role]
    request_type = descriptor_pool.Default().FindServiceByName(SERVICE).methods_by_name[method].input_type.name
    call = getattr(exams_stub, method)(getattr(pb, request_type)(), metadata=caller.metadata if caller else ())
    await assert_access(call, role=role, allowed=EXPECTED[method])


async def test_attempts_and_exams_are_scoped_to_trainee_institution_region_and_employer(exam_office, people) -> None:
    guangzhou = await exam_office.exam_class(region="440106")
    shanghai = await exam_office.exam_class(region="310101")
    exam = await exam_office.define(guangzhou, ev.EXAM_KIND_MOCK)
    elsewhere = await exam_office.define(shanghai, ev.EXAM_KIND_MOCK)
    trainee, _ = await exam_office.enrolled(guangzhou)
    classmate, _ = await exam_office.enrolled(guangzhou)
    started = await exam_office.start(trainee, exam)
    attempt_id = started.attempt.attempt_id

    school = guangzhou.school_class.school
    guangdong = await people.account(R.ROLE_REGULATOR, region_code="440000")
    employer = await people.account(R.ROLE_EMPLOYER, employer_code=trainee.employer_code)
    for viewer in (trainee, school.admin, school.staff, guangdong, employer, people.operator):
        seen = await exam_office.attempt(viewer, attempt_id)
        assert seen.attempt.trainee_id == trainee.user_id
        listed = await exam_office.stub.ListAttempts(
            pb.ListAttemptsRequest(exam_id=exam.exam_id), metadata=viewer.metadata
        )
        assert [a.attempt_id for a in listed.attempts] == [attempt_id]

    other_school = shanghai.school_class.school
    shanghai_regulator = await people.account(R.ROLE_REGULATOR, region_code="310000")
    stranger = await people.account(R.ROLE_EMPLOYER)
    for viewer in (classmate, other_school.admin, shanghai_regulator, stranger):
        hidden = await rpc_failure(exam_office.attempt(viewer, attempt_id), grpc.StatusCode.NOT_FOUND)
        assert hidden.code == grpc.StatusCode.NOT_FOUND
        listed = await exam_office.stub.ListAttempts(pb.ListAttemptsRequest(), metadata=viewer.metadata)
        assert attempt_id not in {a.attempt_id for a in listed.attempts}

    for viewer, visible, invisible in (
        (trainee, exam, elsewhere),
        (school.staff, exam, elsewhere),
        (guangdong, exam, elsewhere),
        (shanghai_regulator, elsewhere, exam),
    ):
        assert (
            await exam_office.stub.GetExam(pb.GetExamRequest(exam_id=visible.exam_id), metadata=viewer.metadata)
        ).exam
        await rpc_failure(
            exam_office.stub.GetExam(pb.GetExamRequest(exam_id=invisible.exam_id), metadata=viewer.metadata),
            grpc.StatusCode.NOT_FOUND,
        )
        listed = await exam_office.stub.ListExams(pb.ListExamsRequest(), metadata=viewer.metadata)
        assert invisible.exam_id not in {e.exam_id for e in listed.exams}
    await rpc_failure(
        exam_office.stub.PreviewPaper(
            pb.PreviewPaperRequest(exam_id=exam.exam_id), metadata=other_school.admin.metadata
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    not_enrolled = await rpc_failure(exam_office.start(trainee, elsewhere), grpc.StatusCode.NOT_FOUND)
    assert not_enrolled.code == grpc.StatusCode.NOT_FOUND


async def test_only_the_class_institution_defines_its_exams_and_only_the_trainee_answers(exam_office) -> None:
    where = await exam_office.exam_class()
    other = await exam_office.exam_class()
    exam = await exam_office.define(where, ev.EXAM_KIND_MOCK)  # exams knows the class from here on
    foreign = await rpc_failure(
        exam_office.stub.CreateExam(
            pb.CreateExamRequest(
                class_id=where.class_id,
                kind=ev.EXAM_KIND_PRACTICE,
                title="越权定义",
                bank_id=exam.bank_id,
                time_limit_minutes=10,
                blueprint=[pb.BlueprintSection(type=pb.QUESTION_TYPE_SINGLE_CHOICE, count=1, points=1)],
            ),
            metadata=other.admin.metadata,
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    assert "class" in foreign.message

    trainee, _ = await exam_office.enrolled(where)
    classmate, _ = await exam_office.enrolled(where)
    started = await exam_office.start(trainee, exam)
    for call in (
        exam_office.save(classmate, started.attempt.attempt_id, 0, [0]),
        exam_office.submit(classmate, started.attempt.attempt_id),
        exam_office.stub.RecordPageLeave(
            pb.RecordPageLeaveRequest(attempt_id=started.attempt.attempt_id), metadata=classmate.metadata
        ),
    ):
        await rpc_failure(call, grpc.StatusCode.NOT_FOUND)
