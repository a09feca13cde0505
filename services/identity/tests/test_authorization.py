"""Authorization: every RPC called by every role is allowed or denied exactly as declared, and no
row of another institution, employer or region is ever returned."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import descriptor_pool

from training.common.v1 import common_pb2
from training.identity.v1 import identity_pb2 as pb
from training_identity.testing import Person, bearer
from training_testkit.rpc import rpc_failure

R = common_pb2
PUBLIC = "public"
PEOPLE = {
    R.ROLE_TRAINEE,
    R.ROLE_INSTITUTION_ADMIN,
    R.ROLE_INSTITUTION_STAFF,
    R.ROLE_EMPLOYER,
    R.ROLE_OPERATOR,
    R.ROLE_REGULATOR,
    R.ROLE_EXAM_INSTITUTION,
}
EVERYONE = PEOPLE | {R.ROLE_SERVICE}

# The declared access table, written out so a change to the policy shows up here as well.
EXPECTED: dict[str, object] = {
    "RegisterTrainee": PUBLIC,
    "Login": PUBLIC,
    "RefreshToken": PUBLIC,
    "Logout": PUBLIC,
    "IssueServiceToken": PUBLIC,
    "GetPublicKeys": PUBLIC,
    "ChangePassword": PEOPLE,
    "CreateAccount": {R.ROLE_OPERATOR, R.ROLE_INSTITUTION_ADMIN},
    "GetUser": EVERYONE,
    "ListUsers": {
        R.ROLE_OPERATOR,
        R.ROLE_REGULATOR,
        R.ROLE_INSTITUTION_ADMIN,
        R.ROLE_INSTITUTION_STAFF,
        R.ROLE_EMPLOYER,
        R.ROLE_SERVICE,
    },
    "RegisterInstitution": {R.ROLE_OPERATOR},
    "SuspendInstitution": {R.ROLE_OPERATOR, R.ROLE_REGULATOR, R.ROLE_SERVICE},
    "ReinstateInstitution": {R.ROLE_OPERATOR, R.ROLE_REGULATOR},
    "GetInstitution": EVERYONE,
    "ListInstitutions": EVERYONE,
    "RecordFaceConsent": {R.ROLE_TRAINEE},
    "EnrollFace": {R.ROLE_TRAINEE},
    "VerifyFace": {R.ROLE_TRAINEE, R.ROLE_SERVICE},
    "DeleteFaceData": {R.ROLE_TRAINEE, R.ROLE_OPERATOR},
    "WithdrawFaceConsent": {R.ROLE_TRAINEE},
    "GetFaceStatus": {R.ROLE_TRAINEE, R.ROLE_SERVICE},
    "ListFaceChecks": {R.ROLE_TRAINEE, R.ROLE_SERVICE},
    "GetFaceSnapshot": {R.ROLE_TRAINEE, R.ROLE_SERVICE},
}

ANONYMOUS = 0


def test_the_table_names_every_rpc() -> None:
    service = descriptor_pool.Default().FindServiceByName("training.identity.v1.IdentityService")
    assert set(EXPECTED) == {m.name for m in service.methods}


@pytest.fixture(scope="session")
async def callers(people, platform_secrets) -> dict[int, Person | None]:
    institution = await people.institution()
    admin = await people.account(R.ROLE_INSTITUTION_ADMIN, institution_id=institution.institution_id)
    service_token = await people.stub.IssueServiceToken(
        pb.IssueServiceTokenRequest(service_name="exams", client_secret=platform_secrets["client_secret_exams"])
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
        R.ROLE_SERVICE: Person(
            user_id="service:exams", role=R.ROLE_SERVICE, token=service_token.access_token, login=""
        ),
    }


def empty_request(method: str) -> object:
    service = descriptor_pool.Default().FindServiceByName("training.identity.v1.IdentityService")
    input_type = service.methods_by_name[method].input_type
    return getattr(pb, input_type.name)()


@pytest.mark.parametrize("method", sorted(EXPECTED))
@pytest.mark.parametrize(
    "role",
    [
        ANONYMOUS,
        R.ROLE_TRAINEE,
        R.ROLE_INSTITUTION_ADMIN,
        R.ROLE_INSTITUTION_STAFF,
        R.ROLE_EMPLOYER,
        R.ROLE_OPERATOR,
        R.ROLE_REGULATOR,
        R.ROLE_EXAM_INSTITUTION,
        R.ROLE_SERVICE,
    ],
    ids=lambda r: R.Role.Name(r) if r else "ANONYMOUS",
)
async def test_every_role_on_every_rpc(people, callers, method: str, role: int) -> None:
    caller = callers[role]
    metadata = caller.metadata if caller else ()
    call = getattr(people.stub, method)(empty_request(method), metadata=metadata)
    try:
        await call
        code, details = grpc.StatusCode.OK, ""
    except grpc.aio.AioRpcError as exc:
        code, details = exc.code(), exc.details() or ""
    expected = EXPECTED[method]
    if expected == PUBLIC or (caller is not None and role in expected):  # type: ignore[operator]
        assert code != grpc.StatusCode.UNAUTHENTICATED, details
        assert not (code == grpc.StatusCode.PERMISSION_DENIED and "may not call" in details), details
    elif caller is None:
        assert code == grpc.StatusCode.UNAUTHENTICATED
    else:
        assert code == grpc.StatusCode.PERMISSION_DENIED
        assert "may not call" in details


async def test_forged_and_garbage_tokens_are_unauthenticated(people) -> None:
    header, payload, _ = people.operator.token.split(".")
    for token in ("garbage", f"{header}.{payload}.AAAA", ""):
        error = await rpc_failure(people.stub.ListInstitutions(pb.ListInstitutionsRequest(), metadata=bearer(token)))
        assert error.code == grpc.StatusCode.UNAUTHENTICATED


async def everything(list_call) -> list:  # type: ignore[no-untyped-def]
    rows, token = [], ""
    while True:
        page = await list_call(common_pb2.PageRequest(page_size=200, page_token=token))
        rows.extend(page.users if hasattr(page, "users") else page.institutions)
        token = page.next_page_token
        if not token:
            return rows


async def test_no_row_outside_the_callers_scope_is_ever_returned(people, identity_sql) -> None:
    gd_school = await people.institution(region="440106")
    sh_school = await people.institution(region="310101")
    gd_admin = await people.account(R.ROLE_INSTITUTION_ADMIN, institution_id=gd_school.institution_id)
    sh_admin = await people.account(R.ROLE_INSTITUTION_ADMIN, institution_id=sh_school.institution_id)
    gd_staff = await people.account(R.ROLE_INSTITUTION_STAFF, creator=gd_admin)
    sh_staff = await people.account(R.ROLE_INSTITUTION_STAFF, creator=sh_admin)
    gd_employer = await people.account(R.ROLE_EMPLOYER)
    gd_worker = await people.trainee(employer_code=gd_employer.employer_code)
    sh_worker = await people.trainee(region="310101")
    guangdong = await people.account(R.ROLE_REGULATOR, region_code="440000")
    shenzhen = await people.account(R.ROLE_REGULATOR, region_code="440300")

    def users_of(person: Person):  # type: ignore[no-untyped-def]
        return lambda page: people.stub.ListUsers(pb.ListUsersRequest(page=page), metadata=person.metadata)

    def institutions_of(person: Person):  # type: ignore[no-untyped-def]
        return lambda page: people.stub.ListInstitutions(
            pb.ListInstitutionsRequest(page=page), metadata=person.metadata
        )

    # Regulators: their region only, whatever else the database holds. A trainee registered
    # elsewhere is theirs too once enrolled in a class of their region (test_enrollment_visibility).
    for regulator, prefix in ((guangdong, "44"), (shenzhen, "4403")):
        enrolled_here = {
            str(r["user_id"])
            for r in await identity_sql.fetch(
                "SELECT user_id FROM trainee_enrollments WHERE region_code LIKE $1", prefix + "%"
            )
        }
        users = await everything(users_of(regulator))
        assert users
        outside = [u for u in users if not u.region_code.startswith(prefix) and u.user_id != regulator.user_id]
        assert all(u.user_id in enrolled_here for u in outside)
        institutions = await everything(institutions_of(regulator))
        assert all(i.region_code.startswith(prefix) for i in institutions)
    assert gd_worker.user_id in {u.user_id for u in await everything(users_of(guangdong))}
    assert sh_worker.user_id not in {u.user_id for u in await everything(users_of(guangdong))}

    # Institutions: their own people and themselves only.
    for admin, school, staff in ((gd_admin, gd_school, gd_staff), (sh_admin, sh_school, sh_staff)):
        users = await everything(users_of(admin))
        assert {u.institution_id for u in users} == {school.institution_id}
        assert staff.user_id in {u.user_id for u in users}
        assert {i.institution_id for i in await everything(institutions_of(admin))} == {school.institution_id}

    # Employers: their own staff only.
    staff_seen = await everything(users_of(gd_employer))
    assert {u.user_id for u in staff_seen} == {gd_employer.user_id, gd_worker.user_id}

    # Reading a single row outside the scope looks exactly like a row that does not exist.
    for viewer, target in (
        (gd_admin, sh_staff),
        (gd_admin, gd_worker),
        (guangdong, sh_worker),
        (shenzhen, gd_worker),
        (gd_employer, sh_worker),
        (gd_worker, sh_worker),
    ):
        error = await rpc_failure(
            people.stub.GetUser(pb.GetUserRequest(user_id=target.user_id), metadata=viewer.metadata)
        )
        assert error.code == grpc.StatusCode.NOT_FOUND
    hidden = await rpc_failure(
        people.stub.GetInstitution(
            pb.GetInstitutionRequest(institution_id=sh_school.institution_id), metadata=gd_admin.metadata
        )
    )
    assert hidden.code == grpc.StatusCode.NOT_FOUND
