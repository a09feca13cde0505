"""Every bad field of every request is refused with INVALID_ARGUMENT naming the field, and nothing is written."""

from __future__ import annotations

import grpc
import pytest

from training.common.v1 import common_pb2
from training.identity.v1 import identity_pb2 as pb
from training_identity.testing import PASSWORD, make_credit_code, make_national_id, make_phone
from training_testkit.rpc import rpc_failure


def trainee(**changes: object) -> pb.RegisterTraineeRequest:
    request = pb.RegisterTraineeRequest(
        display_name="张伟",
        national_id=make_national_id(),
        phone=make_phone(),
        employer=pb.Employer(name="广州化工有限公司", credit_code=make_credit_code()),
        password=PASSWORD,
    )
    for field, value in changes.items():
        if field.startswith("employer_"):
            setattr(request.employer, field.removeprefix("employer_"), value)
        else:
            setattr(request, field, value)
    return request


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"display_name": ""}, "display_name"),
        ({"display_name": "张"}, "display_name"),
        ({"display_name": "张伟\x07"}, "display_name"),
        ({"national_id": ""}, "national_id"),
        ({"national_id": "110105194912310021"}, "national_id"),  # wrong check character
        ({"national_id": "110105199002300028"}, "national_id"),  # 30 February
        ({"phone": "12345"}, "phone"),
        ({"phone": ""}, "phone"),
        ({"employer_name": ""}, "employer.name"),
        ({"employer_credit_code": "914403001922038217"}, "employer.credit_code"),
        ({"employer_credit_code": ""}, "employer.credit_code"),
        ({"password": "short"}, "password"),
        ({"password": ""}, "password"),
    ],
)
async def test_register_trainee_names_the_bad_field_and_writes_nothing(identity_stub, rows, changes, field) -> None:
    before = await rows.counts()
    error = await rpc_failure(identity_stub.RegisterTrainee(trainee(**changes)))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in error.fields
    assert field in error.message
    assert await rows.counts() == before


async def test_every_bad_field_is_reported_at_once(identity_stub) -> None:
    error = await rpc_failure(identity_stub.RegisterTrainee(pb.RegisterTraineeRequest()))
    assert set(error.fields) == {
        "display_name",
        "national_id",
        "phone",
        "employer.name",
        "employer.credit_code",
        "password",
    }


async def test_password_containing_the_id_number_is_refused(identity_stub) -> None:
    national_id = make_national_id()
    error = await rpc_failure(
        identity_stub.RegisterTrainee(trainee(national_id=national_id, password=f"Aa!{national_id}"))
    )
    assert "password" in error.fields


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"role": common_pb2.ROLE_UNSPECIFIED}, "role"),
        ({"role": common_pb2.ROLE_TRAINEE}, "role"),
        ({"role": common_pb2.ROLE_SERVICE}, "role"),
        ({"username": "X"}, "username"),
        ({"username": "1abc"}, "username"),
        ({"password": "weak"}, "password"),
        ({"display_name": ""}, "display_name"),
        ({"phone": "999"}, "phone"),
        ({"region_code": ""}, "region_code"),
        ({"region_code": "990000"}, "region_code"),
        ({"institution_id": "not-a-uuid"}, "institution_id"),
    ],
)
async def test_create_account_names_the_bad_field_and_writes_nothing(people, rows, request_fields, field) -> None:
    request = pb.CreateAccountRequest(
        role=common_pb2.ROLE_REGULATOR,
        username="regulator-x",
        password=PASSWORD,
        display_name="王芳",
        region_code="440000",
    )
    for name, value in request_fields.items():
        setattr(request, name, value)
    before = await rows.counts()
    error = await rpc_failure(people.stub.CreateAccount(request, metadata=people.operator.metadata))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in error.fields
    assert await rows.counts() == before


async def test_employer_account_needs_a_valid_credit_code(people, rows) -> None:
    before = await rows.counts()
    request = pb.CreateAccountRequest(
        role=common_pb2.ROLE_EMPLOYER,
        username="employer-x",
        password=PASSWORD,
        display_name="某化工公司安全部",
        employer=pb.Employer(name="某化工公司", credit_code="9144030071526726XA"),
    )
    error = await rpc_failure(people.stub.CreateAccount(request, metadata=people.operator.metadata))
    assert "employer.credit_code" in error.fields
    assert await rows.counts() == before


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"credit_code": "914403001922038217"}, "credit_code"),
        ({"region_code": "4401"}, "region_code"),
        ({"qualification_types": []}, "qualification_types"),
        ({"qualification_types": [common_pb2.QUALIFICATION_TYPE_UNSPECIFIED]}, "qualification_types[0]"),
        (
            {"qualification_types": [common_pb2.QUALIFICATION_TYPE_SPECIAL_OPERATION], "operation_types": []},
            "operation_types",
        ),
        ({"operation_types": ["electrical.low_voltage", "juggling"]}, "operation_types[1]"),
        (
            {
                "qualification_types": [common_pb2.QUALIFICATION_TYPE_PRINCIPAL_HIGH_RISK],
                "operation_types": ["welding.brazing"],
            },
            "operation_types",
        ),
    ],
)
async def test_register_institution_names_the_bad_field_and_writes_nothing(people, rows, request_fields, field) -> None:
    request = pb.RegisterInstitutionRequest(
        name="佛山安全培训中心",
        credit_code=make_credit_code(),
        region_code="440604",
        qualification_types=[common_pb2.QUALIFICATION_TYPE_SPECIAL_OPERATION],
        operation_types=["electrical.low_voltage"],
    )
    for name, value in request_fields.items():
        request.ClearField(name)
        if isinstance(value, list):
            getattr(request, name).extend(value)
        else:
            setattr(request, name, value)
    before = await rows.counts()
    error = await rpc_failure(people.stub.RegisterInstitution(request, metadata=people.operator.metadata))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in error.fields
    assert await rows.counts() == before


async def test_suspension_needs_a_reason(people, rows) -> None:
    institution = await people.institution()
    before = await rows.counts()
    error = await rpc_failure(
        people.stub.SuspendInstitution(
            pb.SuspendInstitutionRequest(institution_id=institution.institution_id, reason=" "),
            metadata=people.operator.metadata,
        )
    )
    assert "reason" in error.fields
    assert await rows.counts() == before


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda stub, md: stub.GetUser(pb.GetUserRequest(user_id="42"), metadata=md), "user_id"),
        (
            lambda stub, md: stub.GetInstitution(pb.GetInstitutionRequest(institution_id=""), metadata=md),
            "institution_id",
        ),
        (
            lambda stub, md: stub.ListUsers(
                pb.ListUsersRequest(page=common_pb2.PageRequest(page_size=500)), metadata=md
            ),
            "page.page_size",
        ),
        (
            lambda stub, md: stub.ListUsers(
                pb.ListUsersRequest(page=common_pb2.PageRequest(page_token="%%%")), metadata=md
            ),
            "page.page_token",
        ),
        (
            lambda stub, md: stub.ListInstitutions(pb.ListInstitutionsRequest(region_code="12"), metadata=md),
            "region_code",
        ),
    ],
)
async def test_read_requests_name_the_bad_field(people, call, field) -> None:
    error = await rpc_failure(call(people.stub, people.operator.metadata))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in error.fields
