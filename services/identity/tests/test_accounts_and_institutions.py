"""Accounts and institutions: who creates what, uniqueness, masking, encryption at rest, status changes."""

from __future__ import annotations

import grpc

from training.common.v1 import common_pb2
from training.identity.v1 import identity_pb2 as pb
from training_identity.testing import PASSWORD, make_phone
from training_testkit.rpc import rpc_failure

R = common_pb2


async def test_one_id_number_one_account(people) -> None:
    person = await people.trainee()
    me = await people.stub.GetUser(pb.GetUserRequest(user_id=person.user_id), metadata=person.metadata)
    error = await rpc_failure(
        people.stub.RegisterTrainee(
            pb.RegisterTraineeRequest(
                display_name="张伟",
                national_id=me.user.national_id,
                phone=make_phone(),
                employer=me.user.employer,
                password=PASSWORD,
            )
        )
    )
    assert error.code == grpc.StatusCode.ALREADY_EXISTS
    assert "resident ID number" in error.message


async def test_id_and_phone_numbers_are_encrypted_at_rest(people, rows) -> None:
    person = await people.trainee()
    me = await people.stub.GetUser(pb.GetUserRequest(user_id=person.user_id), metadata=person.metadata)
    row = await rows.fetchrow("SELECT * FROM users WHERE id = $1::uuid", person.user_id)
    stored = b"".join(v for v in dict(row).values() if isinstance(v, bytes))
    assert me.user.national_id.encode() not in stored
    assert me.user.phone.encode() not in stored
    assert me.user.national_id not in str(dict(row))


async def test_numbers_are_masked_for_institutions_and_whole_for_regulators(people) -> None:
    institution = await people.institution(region="440106")
    admin = await people.account(R.ROLE_INSTITUTION_ADMIN, institution_id=institution.institution_id)
    staff_phone = make_phone()
    staff = await people.stub.CreateAccount(
        pb.CreateAccountRequest(
            role=R.ROLE_INSTITUTION_STAFF,
            username="teacher-mask",
            password=PASSWORD,
            display_name="陈老师",
            phone=staff_phone,
        ),
        metadata=admin.metadata,
    )
    seen_by_admin = await people.stub.GetUser(pb.GetUserRequest(user_id=staff.user.user_id), metadata=admin.metadata)
    assert seen_by_admin.user.phone == staff_phone[:3] + "****" + staff_phone[-4:]
    assert not seen_by_admin.user.unmasked
    regulator = await people.account(R.ROLE_REGULATOR, region_code="440000")
    seen_by_regulator = await people.stub.GetUser(
        pb.GetUserRequest(user_id=staff.user.user_id), metadata=regulator.metadata
    )
    assert seen_by_regulator.user.phone == staff_phone
    assert seen_by_regulator.user.unmasked


async def test_institution_admin_creates_staff_of_its_own_institution_only(people) -> None:
    mine = await people.institution()
    other = await people.institution()
    admin = await people.account(R.ROLE_INSTITUTION_ADMIN, institution_id=mine.institution_id)
    staff = await people.account(R.ROLE_INSTITUTION_STAFF, creator=admin)
    assert staff.institution_id == mine.institution_id
    denied = await rpc_failure(
        people.stub.CreateAccount(
            pb.CreateAccountRequest(
                role=R.ROLE_INSTITUTION_STAFF,
                username="poacher",
                password=PASSWORD,
                display_name="外校人员",
                institution_id=other.institution_id,
            ),
            metadata=admin.metadata,
        )
    )
    assert denied.code == grpc.StatusCode.PERMISSION_DENIED
    escalation = await rpc_failure(
        people.stub.CreateAccount(
            pb.CreateAccountRequest(
                role=R.ROLE_INSTITUTION_ADMIN, username="second-admin", password=PASSWORD, display_name="第二管理员"
            ),
            metadata=admin.metadata,
        )
    )
    assert escalation.code == grpc.StatusCode.PERMISSION_DENIED


async def test_usernames_are_unique(people) -> None:
    await people.stub.CreateAccount(
        pb.CreateAccountRequest(
            role=R.ROLE_REGULATOR,
            username="gz-reg",
            password=PASSWORD,
            display_name="广州市应急局",
            region_code="440100",
        ),
        metadata=people.operator.metadata,
    )
    error = await rpc_failure(
        people.stub.CreateAccount(
            pb.CreateAccountRequest(
                role=R.ROLE_REGULATOR, username="gz-reg", password=PASSWORD, display_name="重复", region_code="440100"
            ),
            metadata=people.operator.metadata,
        )
    )
    assert error.code == grpc.StatusCode.ALREADY_EXISTS


async def test_credit_codes_of_institutions_are_unique(people) -> None:
    first = await people.institution()
    error = await rpc_failure(
        people.stub.RegisterInstitution(
            pb.RegisterInstitutionRequest(
                name="冒名机构",
                credit_code=first.credit_code,
                region_code="440106",
                qualification_types=[R.QUALIFICATION_TYPE_PRINCIPAL_HIGH_RISK],
            ),
            metadata=people.operator.metadata,
        )
    )
    assert error.code == grpc.StatusCode.ALREADY_EXISTS


async def test_suspension_and_reinstatement_follow_the_status_rules(people) -> None:
    institution = await people.institution(region="440106")
    suspended = await people.stub.SuspendInstitution(
        pb.SuspendInstitutionRequest(institution_id=institution.institution_id, reason="学时造假调查"),
        metadata=people.operator.metadata,
    )
    assert suspended.institution.status == pb.INSTITUTION_STATUS_SUSPENDED
    assert suspended.institution.status_reason == "学时造假调查"
    twice = await rpc_failure(
        people.stub.SuspendInstitution(
            pb.SuspendInstitutionRequest(institution_id=institution.institution_id, reason="again"),
            metadata=people.operator.metadata,
        )
    )
    assert twice.code == grpc.StatusCode.FAILED_PRECONDITION
    assert twice.reason == "INSTITUTION_NOT_ACTIVE"
    reinstated = await people.stub.ReinstateInstitution(
        pb.ReinstateInstitutionRequest(institution_id=institution.institution_id, reason="整改完成"),
        metadata=people.operator.metadata,
    )
    assert reinstated.institution.status == pb.INSTITUTION_STATUS_ACTIVE


async def test_regulator_suspends_in_its_region_only(people) -> None:
    guangzhou = await people.institution(region="440106")
    shanghai = await people.institution(region="310101")
    guangdong = await people.account(R.ROLE_REGULATOR, region_code="440000")
    done = await people.stub.SuspendInstitution(
        pb.SuspendInstitutionRequest(institution_id=guangzhou.institution_id, reason="监管检查"),
        metadata=guangdong.metadata,
    )
    assert done.institution.status == pb.INSTITUTION_STATUS_SUSPENDED
    elsewhere = await rpc_failure(
        people.stub.SuspendInstitution(
            pb.SuspendInstitutionRequest(institution_id=shanghai.institution_id, reason="越权"),
            metadata=guangdong.metadata,
        )
    )
    assert elsewhere.code == grpc.StatusCode.NOT_FOUND


async def test_suspended_institution_gets_no_new_accounts(people) -> None:
    institution = await people.institution()
    admin = await people.account(R.ROLE_INSTITUTION_ADMIN, institution_id=institution.institution_id)
    await people.stub.SuspendInstitution(
        pb.SuspendInstitutionRequest(institution_id=institution.institution_id, reason="暂停"),
        metadata=people.operator.metadata,
    )
    error = await rpc_failure(
        people.stub.CreateAccount(
            pb.CreateAccountRequest(
                role=R.ROLE_INSTITUTION_STAFF, username="late-hire", password=PASSWORD, display_name="新老师"
            ),
            metadata=admin.metadata,
        )
    )
    assert error.reason == "INSTITUTION_NOT_ACTIVE"


async def test_trainees_see_only_active_institutions(people) -> None:
    institution = await people.institution()
    trainee = await people.trainee()
    visible = await people.stub.GetInstitution(
        pb.GetInstitutionRequest(institution_id=institution.institution_id), metadata=trainee.metadata
    )
    assert visible.institution.name == institution.name
    await people.stub.SuspendInstitution(
        pb.SuspendInstitutionRequest(institution_id=institution.institution_id, reason="暂停"),
        metadata=people.operator.metadata,
    )
    hidden = await rpc_failure(
        people.stub.GetInstitution(
            pb.GetInstitutionRequest(institution_id=institution.institution_id), metadata=trainee.metadata
        )
    )
    assert hidden.code == grpc.StatusCode.NOT_FOUND


async def test_list_pages_through_every_visible_row_once(people) -> None:
    institution = await people.institution(region="441900")
    admin = await people.account(R.ROLE_INSTITUTION_ADMIN, institution_id=institution.institution_id)
    created = {admin.user_id}
    for _ in range(6):
        created.add((await people.account(R.ROLE_INSTITUTION_STAFF, creator=admin)).user_id)
    seen: list[str] = []
    token = ""
    while True:
        page = await people.stub.ListUsers(
            pb.ListUsersRequest(page=common_pb2.PageRequest(page_size=3, page_token=token)), metadata=admin.metadata
        )
        seen.extend(u.user_id for u in page.users)
        token = page.next_page_token
        if not token:
            break
    assert sorted(seen) == sorted(created)


async def test_overlong_type_lists_are_refused_by_their_size_alone(people) -> None:
    # Found by fuzzing: each of thousands of items was checked and named before any limit applied.
    request = pb.RegisterInstitutionRequest(
        name="安全培训学校",
        qualification_types=[common_pb2.QUALIFICATION_TYPE_SPECIAL_OPERATION] * 21,
        operation_types=["electrical.low_voltage"] * 101,
    )
    failure = await rpc_failure(
        people.stub.RegisterInstitution(request, metadata=people.operator.metadata), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert set(failure.fields) <= {"name", "credit_code", "region_code", "qualification_types", "operation_types"}
    assert {"qualification_types", "operation_types"} <= set(failure.fields)
