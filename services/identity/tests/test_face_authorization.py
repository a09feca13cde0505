"""Who may touch face data: a trainee only its own, platform services any trainee's for checks and
evidence, the operator only to delete, and nobody else anything."""

from __future__ import annotations

import grpc
import pytest
import pytest_asyncio

from training.common.v1 import common_pb2
from training.identity.v1 import identity_pb2 as pb
from training_testkit.rpc import rpc_failure

DENIED = grpc.StatusCode.PERMISSION_DENIED

STAFF_ROLES = [
    common_pb2.ROLE_OPERATOR,
    common_pb2.ROLE_REGULATOR,
    common_pb2.ROLE_INSTITUTION_ADMIN,
    common_pb2.ROLE_INSTITUTION_STAFF,
    common_pb2.ROLE_EMPLOYER,
    common_pb2.ROLE_EXAM_INSTITUTION,
]


async def staff_account(people, role: int):  # type: ignore[no-untyped-def]
    if role == common_pb2.ROLE_OPERATOR:
        return people.operator
    if role in (common_pb2.ROLE_INSTITUTION_ADMIN, common_pb2.ROLE_INSTITUTION_STAFF):
        institution = await people.institution()
        admin = await people.account(common_pb2.ROLE_INSTITUTION_ADMIN, institution_id=institution.institution_id)
        if role == common_pb2.ROLE_INSTITUTION_ADMIN:
            return admin
        return await people.account(role, creator=admin, institution_id=institution.institution_id)
    if role in (common_pb2.ROLE_REGULATOR, common_pb2.ROLE_EXAM_INSTITUTION):
        return await people.account(role, region_code="440000")
    return await people.account(role)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def subject(people, face_photos):  # type: ignore[no-untyped-def]
    """An enrolled trainee with one stored check, whose face data the callers below try to reach."""
    trainee = await people.enrolled_trainee()
    check = await people.stub.VerifyFace(
        pb.VerifyFaceRequest(
            user_id=trainee.user_id,
            image=face_photos["obama2.jpg"],
            purpose=pb.FACE_CHECK_PURPOSE_SELF_TEST,
        ),
        metadata=trainee.metadata,
    )
    return trainee, check.face_check_id


def face_calls(stub, user_id: str, face_check_id: str, image: bytes, metadata):  # type: ignore[no-untyped-def]
    """Every face RPC aimed at `user_id`'s data, as (name, awaitable factory)."""
    return {
        "VerifyFace": lambda: stub.VerifyFace(
            pb.VerifyFaceRequest(user_id=user_id, image=image, purpose=pb.FACE_CHECK_PURPOSE_STUDY_RANDOM),
            metadata=metadata,
        ),
        "GetFaceStatus": lambda: stub.GetFaceStatus(pb.GetFaceStatusRequest(user_id=user_id), metadata=metadata),
        "ListFaceChecks": lambda: stub.ListFaceChecks(
            pb.ListFaceChecksRequest(user_id=user_id, reason="curious"), metadata=metadata
        ),
        "GetFaceSnapshot": lambda: stub.GetFaceSnapshot(
            pb.GetFaceSnapshotRequest(face_check_id=face_check_id, reason="curious"), metadata=metadata
        ),
        "DeleteFaceData": lambda: stub.DeleteFaceData(
            pb.DeleteFaceDataRequest(user_id=user_id, reason="curious"), metadata=metadata
        ),
    }


async def test_another_trainee_reaches_none_of_a_trainees_face_data(
    identity_stub, people, subject, face_photos
) -> None:  # type: ignore[no-untyped-def]
    owner, check_id = subject
    intruder = await people.enrolled_trainee()
    calls = face_calls(identity_stub, owner.user_id, check_id, face_photos["obama.jpg"], intruder.metadata)
    for name, call in calls.items():
        failure = await rpc_failure(call(), DENIED)
        assert failure.code == DENIED, name


@pytest.mark.parametrize("role", STAFF_ROLES, ids=lambda r: common_pb2.Role.Name(r))
async def test_staff_accounts_read_no_face_data(identity_stub, people, subject, face_photos, role) -> None:  # type: ignore[no-untyped-def]
    owner, check_id = subject
    caller = await staff_account(people, role)
    calls = face_calls(identity_stub, owner.user_id, check_id, face_photos["obama.jpg"], caller.metadata)
    calls.pop("DeleteFaceData")  # the operator's one power over face data, tested below
    # Only a trainee has a consent to withdraw (its own; the request names nobody).
    calls["WithdrawFaceConsent"] = lambda: identity_stub.WithdrawFaceConsent(
        pb.WithdrawFaceConsentRequest(reason="curious"), metadata=caller.metadata
    )
    for name, call in calls.items():
        failure = await rpc_failure(call(), DENIED)
        assert failure.code == DENIED, f"{common_pb2.Role.Name(role)} {name}"


@pytest.mark.parametrize("role", [r for r in STAFF_ROLES if r != common_pb2.ROLE_OPERATOR])
async def test_only_the_owner_or_the_operator_deletes_face_data(identity_stub, people, subject, role) -> None:  # type: ignore[no-untyped-def]
    owner, _ = subject
    caller = await staff_account(people, role)
    await rpc_failure(
        identity_stub.DeleteFaceData(
            pb.DeleteFaceDataRequest(user_id=owner.user_id, reason="tidy up"), metadata=caller.metadata
        ),
        DENIED,
    )


async def test_the_operator_deletes_face_data_when_retention_is_over(identity_stub, people) -> None:  # type: ignore[no-untyped-def]
    trainee = await people.enrolled_trainee()
    deleted = await identity_stub.DeleteFaceData(
        pb.DeleteFaceDataRequest(user_id=trainee.user_id, reason="retention period over"),
        metadata=people.operator.metadata,
    )
    assert deleted.records_deleted == 2


async def test_services_are_refused_enrollment_and_deletion(identity_stub, people, subject, face_photos) -> None:  # type: ignore[no-untyped-def]
    owner, _ = subject
    service = await people.service("learning")
    await rpc_failure(
        identity_stub.EnrollFace(pb.EnrollFaceRequest(image=face_photos["obama.jpg"]), metadata=service.metadata),
        DENIED,
    )
    await rpc_failure(
        identity_stub.DeleteFaceData(
            pb.DeleteFaceDataRequest(user_id=owner.user_id, reason="x"), metadata=service.metadata
        ),
        DENIED,
    )


@pytest.mark.parametrize("service_name", ["learning", "exams"])
async def test_platform_services_verify_any_trainee(identity_stub, people, subject, face_photos, service_name) -> None:  # type: ignore[no-untyped-def]
    owner, check_id = subject
    service = await people.service(service_name)
    result = await identity_stub.VerifyFace(
        pb.VerifyFaceRequest(
            user_id=owner.user_id, image=face_photos["obama3.jpg"], purpose=pb.FACE_CHECK_PURPOSE_EXAM_START
        ),
        metadata=service.metadata,
    )
    assert result.matched
    snapshot = await identity_stub.GetFaceSnapshot(
        pb.GetFaceSnapshotRequest(face_check_id=check_id, reason="archive export"), metadata=service.metadata
    )
    assert snapshot.image


async def test_a_trainee_verifies_and_reads_its_own_face_data(identity_stub, subject, face_photos) -> None:  # type: ignore[no-untyped-def]
    owner, check_id = subject
    result = await identity_stub.VerifyFace(
        pb.VerifyFaceRequest(
            user_id=owner.user_id, image=face_photos["obama_small.jpg"], purpose=pb.FACE_CHECK_PURPOSE_SELF_TEST
        ),
        metadata=owner.metadata,
    )
    assert result.matched
    snapshot = await identity_stub.GetFaceSnapshot(
        pb.GetFaceSnapshotRequest(face_check_id=check_id, reason="my own evidence"), metadata=owner.metadata
    )
    assert snapshot.face_check.user_id == owner.user_id


async def test_face_rpcs_need_a_token(identity_stub, subject, face_photos) -> None:  # type: ignore[no-untyped-def]
    owner, check_id = subject
    for name, call in face_calls(identity_stub, owner.user_id, check_id, face_photos["obama.jpg"], ()).items():
        failure = await rpc_failure(call())
        assert failure.code == grpc.StatusCode.UNAUTHENTICATED, name
    for call in (
        identity_stub.RecordFaceConsent(pb.RecordFaceConsentRequest(purpose="x", retention_days=1)),
        identity_stub.EnrollFace(pb.EnrollFaceRequest(image=face_photos["obama.jpg"])),
    ):
        await rpc_failure(call, grpc.StatusCode.UNAUTHENTICATED)


async def test_face_data_is_kept_for_trainees_only(identity_stub, people, face_photos) -> None:  # type: ignore[no-untyped-def]
    service = await people.service("learning")
    staff = await people.account(common_pb2.ROLE_EMPLOYER)
    failure = await rpc_failure(
        identity_stub.VerifyFace(
            pb.VerifyFaceRequest(
                user_id=staff.user_id, image=face_photos["obama.jpg"], purpose=pb.FACE_CHECK_PURPOSE_STUDY_START
            ),
            metadata=service.metadata,
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert failure.reason == "NOT_A_TRAINEE"
