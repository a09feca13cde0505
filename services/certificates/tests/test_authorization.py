"""Authorization: every RPC called by every role is allowed or denied as declared; certificates of
another trainee, institution, employer or region are never shown, and only the issuing institution's
admin or a regulator of its region may revoke."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import descriptor_pool

from training.certificates.v1 import certificates_pb2 as pb
from training.common.v1 import common_pb2
from training_identity.testing import Person
from training_testkit.rpc import rpc_failure

R = common_pb2
PUBLIC = "public"
READERS = {
    R.ROLE_TRAINEE,
    R.ROLE_INSTITUTION_ADMIN,
    R.ROLE_INSTITUTION_STAFF,
    R.ROLE_EMPLOYER,
    R.ROLE_OPERATOR,
    R.ROLE_REGULATOR,
    R.ROLE_EXAM_INSTITUTION,
    R.ROLE_SERVICE,
}
EXPECTED: dict[str, object] = {
    "VerifyCertificate": PUBLIC,
    "VerifyCertificateToken": PUBLIC,
    "GetVerificationKeys": PUBLIC,
    "GetCertificate": READERS,
    "ListCertificates": READERS,
    "RevokeCertificate": {R.ROLE_INSTITUTION_ADMIN, R.ROLE_REGULATOR, R.ROLE_SERVICE},
    "RenderCertificatePdf": READERS,
}
ANONYMOUS = 0
ROLES = [ANONYMOUS, *sorted(READERS)]


def test_the_table_names_every_rpc() -> None:
    service = descriptor_pool.Default().FindServiceByName("training.certificates.v1.CertificatesService")
    assert set(EXPECTED) == {m.name for m in service.methods}


@pytest.fixture(scope="session")
async def callers(people, certificates_app) -> dict[int, Person | None]:  # type: ignore[no-untyped-def]
    institution = await people.institution()
    admin = await people.account(R.ROLE_INSTITUTION_ADMIN, institution_id=institution.institution_id)
    return {
        ANONYMOUS: None,
        R.ROLE_TRAINEE: await people.trainee(),
        R.ROLE_INSTITUTION_ADMIN: admin,
        R.ROLE_INSTITUTION_STAFF: await people.account(R.ROLE_INSTITUTION_STAFF, creator=admin),
        R.ROLE_EMPLOYER: await people.account(R.ROLE_EMPLOYER),
        R.ROLE_OPERATOR: people.operator,
        R.ROLE_REGULATOR: await people.account(R.ROLE_REGULATOR, region_code="440000"),
        R.ROLE_EXAM_INSTITUTION: await people.account(R.ROLE_EXAM_INSTITUTION, region_code="440000"),
        R.ROLE_SERVICE: await people.service("exams"),
    }


def empty_request(method: str) -> object:
    service = descriptor_pool.Default().FindServiceByName("training.certificates.v1.CertificatesService")
    return getattr(pb, service.methods_by_name[method].input_type.name)()


@pytest.mark.parametrize("method", sorted(EXPECTED))
@pytest.mark.parametrize("role", ROLES, ids=lambda r: R.Role.Name(r) if r else "ANONYMOUS")
async def test_every_role_on_every_rpc(graduation, callers, method: str, role: int) -> None:
    caller = callers[role]
    metadata = caller.metadata if caller else ()
    try:
        await getattr(graduation.stub, method)(empty_request(method), metadata=metadata)
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


@pytest.fixture(scope="session")
async def two_regions(graduation, people):  # type: ignore[no-untyped-def]
    """A certificate in Guangzhou (440106) and one in Shanghai (310104), and people around them."""
    guangzhou = await graduation.graduate(region="440106")
    shanghai = await graduation.graduate(region="310104")
    await graduation.publish(*guangzhou.training(), *shanghai.training())
    gz = await graduation.certificate(guangzhou)
    sh = await graduation.certificate(shanghai)
    return {
        "gz": gz,
        "sh": sh,
        "gz_trainee": guangzhou.trainee,
        "gz_admin": await people.account(R.ROLE_INSTITUTION_ADMIN, institution_id=guangzhou.institution_id),
        "sh_admin": await people.account(R.ROLE_INSTITUTION_ADMIN, institution_id=shanghai.institution_id),
        "gz_employer": await people.account(R.ROLE_EMPLOYER, employer_code=guangzhou.employer_code),
        "gd_regulator": await people.account(R.ROLE_REGULATOR, region_code="440000"),
        "sh_regulator": await people.account(R.ROLE_REGULATOR, region_code="310000"),
        "other_trainee": await people.trainee(),
    }


async def visible(stub, viewer: Person, certificate: pb.Certificate) -> bool:  # type: ignore[no-untyped-def]
    try:
        await stub.GetCertificate(
            pb.GetCertificateRequest(certificate_id=certificate.certificate_id), metadata=viewer.metadata
        )
    except grpc.aio.AioRpcError as exc:
        if exc.code() != grpc.StatusCode.NOT_FOUND:
            raise
        return False
    return True


async def listed(stub, viewer: Person) -> set[str]:  # type: ignore[no-untyped-def]
    ids, token = set(), ""
    while True:
        page = await stub.ListCertificates(
            pb.ListCertificatesRequest(page=common_pb2.PageRequest(page_size=200, page_token=token)),
            metadata=viewer.metadata,
        )
        ids |= {c.certificate_id for c in page.certificates}
        token = page.next_page_token
        if not token:
            return ids


@pytest.mark.parametrize(
    ("viewer", "sees_gz", "sees_sh"),
    [
        ("gz_trainee", True, False),
        ("other_trainee", False, False),
        ("gz_admin", True, False),
        ("sh_admin", False, True),
        ("gz_employer", True, False),
        ("gd_regulator", True, False),
        ("sh_regulator", False, True),
    ],
)
async def test_rows_are_scoped(graduation, two_regions, viewer, sees_gz, sees_sh) -> None:
    person = two_regions[viewer]
    everything = await listed(graduation.stub, person)

    assert await visible(graduation.stub, person, two_regions["gz"]) is sees_gz
    assert await visible(graduation.stub, person, two_regions["sh"]) is sees_sh
    assert (two_regions["gz"].certificate_id in everything) is sees_gz
    assert (two_regions["sh"].certificate_id in everything) is sees_sh


@pytest.mark.parametrize("revoker", ["sh_admin", "sh_regulator"])
async def test_no_one_outside_the_institution_or_region_revokes(graduation, two_regions, revoker) -> None:
    request = pb.RevokeCertificateRequest(certificate_id=two_regions["gz"].certificate_id, reason="越权撤销")
    failure = await rpc_failure(graduation.stub.RevokeCertificate(request, metadata=two_regions[revoker].metadata))
    assert failure.code == grpc.StatusCode.NOT_FOUND


async def test_staff_and_services_without_a_command_cannot_revoke(graduation, two_regions, people) -> None:
    staff = await people.account(R.ROLE_INSTITUTION_STAFF, creator=two_regions["gz_admin"])
    request = pb.RevokeCertificateRequest(certificate_id=two_regions["gz"].certificate_id, reason="越权撤销")
    denied = grpc.StatusCode.PERMISSION_DENIED
    await rpc_failure(graduation.stub.RevokeCertificate(request, metadata=staff.metadata), denied)
    for service in ("supervision", "exams"):
        caller = await people.service(service)
        await rpc_failure(graduation.stub.RevokeCertificate(request, metadata=caller.metadata), denied)
