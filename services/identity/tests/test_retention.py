"""Retention through the real flow: courses announces a class's retention years with each enrollment,
identity dates the trainee's training checks by them, and deleting face data that is still a training
record is refused, by every path, with nothing changed."""

from __future__ import annotations

import uuid

import grpc

from training.common.v1 import common_pb2
from training.identity.v1 import identity_pb2 as pb
from training_identity.testing import FacePhotos
from training_testkit import wait_until
from training_testkit.rpc import rpc_failure

PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION


async def enrolled(people, campus, identity_sql, qualification: int):  # type: ignore[no-untyped-def]
    """A trainee with a face baseline, enrolled in a new class of `qualification`, once identity knows it."""
    trainee = await people.enrolled_trainee()
    opened = await campus.open_class(qualification=qualification)
    await campus.enroll(opened, trainee)

    async def learnt() -> bool:
        return bool(
            await identity_sql.fetchval(
                "SELECT count(*) FROM trainee_enrollments WHERE user_id = $1", uuid.UUID(trainee.user_id)
            )
        )

    await wait_until(learnt, what="identity to learn the enrollment")
    return trainee


async def study_check(identity_stub, people, trainee) -> str:  # type: ignore[no-untyped-def]
    learning = await people.service("learning")
    checked = await identity_stub.VerifyFace(
        pb.VerifyFaceRequest(
            user_id=trainee.user_id,
            image=FacePhotos()["obama2.jpg"],
            purpose=pb.FACE_CHECK_PURPOSE_STUDY_START,
            context_ref="study-session:retention",
        ),
        metadata=learning.metadata,
    )
    return checked.face_check_id


async def face_state(identity_sql, user_id: str) -> dict:  # type: ignore[no-untyped-def]
    uid = uuid.UUID(user_id)
    return {
        "baselines": await identity_sql.fetchval("SELECT count(*) FROM face_baselines WHERE user_id = $1", uid),
        "snapshots": await identity_sql.fetchval("SELECT count(*) FROM face_snapshots WHERE user_id = $1", uid),
        "open_consents": await identity_sql.fetchval(
            "SELECT count(*) FROM face_consents WHERE user_id = $1 AND withdrawn_at IS NULL", uid
        ),
        "proofs": await identity_sql.fetchval("SELECT count(*) FROM face_data_deletions WHERE user_id = $1", uid),
        "accesses": await identity_sql.fetchval("SELECT count(*) FROM face_data_access WHERE user_id = $1", uid),
        "outbox": await identity_sql.fetchval("SELECT count(*) FROM outbox"),
    }


async def test_courses_announces_the_rulebook_years_of_each_qualification(  # type: ignore[no-untyped-def]
    people, campus, identity_sql, identity_stub
) -> None:
    special = await enrolled(people, campus, identity_sql, common_pb2.QUALIFICATION_TYPE_SPECIAL_OPERATION)
    manager = await enrolled(people, campus, identity_sql, common_pb2.QUALIFICATION_TYPE_SAFETY_MANAGER_HIGH_RISK)
    for trainee, qualification, years in ((special, "special_operation", 6), (manager, "safety_manager_high_risk", 3)):
        row = await identity_sql.fetchrow(
            "SELECT qualification_type, retention_years FROM trainee_enrollments WHERE user_id = $1",
            uuid.UUID(trainee.user_id),
        )
        assert (row["qualification_type"], row["retention_years"]) == (qualification, years)
        await study_check(identity_stub, people, trainee)
        dated = await identity_sql.fetchrow(
            "SELECT s.retention_until = s.created_at + make_interval($2) AS exact,"
            " u.retention_until >= s.retention_until AS covered"
            " FROM face_snapshots s JOIN users u ON u.id = s.user_id"
            " WHERE s.user_id = $1 AND s.kind = 'probe'",
            uuid.UUID(trainee.user_id),
            years,
        )
        assert dated["exact"]
        assert dated["covered"]


async def test_deleting_face_data_under_retention_is_refused_with_nothing_changed(  # type: ignore[no-untyped-def]
    people, campus, identity_sql, identity_stub
) -> None:
    trainee = await enrolled(people, campus, identity_sql, common_pb2.QUALIFICATION_TYPE_SPECIAL_OPERATION)
    check_id = await study_check(identity_stub, people, trainee)
    until = await identity_sql.fetchval(
        "SELECT retention_until FROM face_snapshots WHERE user_id = $1 AND kind = 'probe'", uuid.UUID(trainee.user_id)
    )
    before = await face_state(identity_sql, trainee.user_id)
    for caller in (trainee, people.operator):
        failure = await rpc_failure(
            identity_stub.DeleteFaceData(
                pb.DeleteFaceDataRequest(user_id=trainee.user_id, reason="delete everything"),
                metadata=caller.metadata,
            ),
            PRECONDITION,
        )
        assert failure.reason == "RETENTION_NOT_OVER"
        assert until.date().isoformat() in failure.message
        assert failure.metadata["retained_until"] == until.isoformat()
        assert failure.metadata["records_retained"] == "1"
        assert await face_state(identity_sql, trainee.user_id) == before
    # Face processing goes on as before: the consent and the baseline are untouched.
    status = await identity_stub.GetFaceStatus(
        pb.GetFaceStatusRequest(user_id=trainee.user_id), metadata=trainee.metadata
    )
    assert status.consented
    assert status.enrolled
    snapshot = await identity_stub.GetFaceSnapshot(
        pb.GetFaceSnapshotRequest(face_check_id=check_id, reason="after a refused deletion"),
        metadata=trainee.metadata,
    )
    assert snapshot.image


async def test_withdrawing_consent_stops_face_processing_and_keeps_the_training_evidence(  # type: ignore[no-untyped-def]
    people, campus, identity_sql, identity_stub, face_photos
) -> None:
    trainee = await enrolled(people, campus, identity_sql, common_pb2.QUALIFICATION_TYPE_SAFETY_MANAGER_HIGH_RISK)
    check_id = await study_check(identity_stub, people, trainee)
    self_test = await identity_stub.VerifyFace(
        pb.VerifyFaceRequest(
            user_id=trainee.user_id, image=face_photos["obama2.jpg"], purpose=pb.FACE_CHECK_PURPOSE_SELF_TEST
        ),
        metadata=trainee.metadata,
    )
    withdrawn = await identity_stub.WithdrawFaceConsent(
        pb.WithdrawFaceConsentRequest(reason="I withdraw my consent"), metadata=trainee.metadata
    )
    # The baseline embedding, its photo and the self-test's snapshot go; the study check's stays.
    assert (withdrawn.records_deleted, withdrawn.records_retained) == (3, 1)
    status = await identity_stub.GetFaceStatus(
        pb.GetFaceStatusRequest(user_id=trainee.user_id), metadata=trainee.metadata
    )
    assert not status.consented
    assert not status.enrolled
    learning = await people.service("learning")
    failure = await rpc_failure(
        identity_stub.VerifyFace(
            pb.VerifyFaceRequest(
                user_id=trainee.user_id, image=face_photos["obama2.jpg"], purpose=pb.FACE_CHECK_PURPOSE_STUDY_RANDOM
            ),
            metadata=learning.metadata,
        ),
        PRECONDITION,
    )
    assert failure.reason == "FACE_NOT_ENROLLED"
    kept = await identity_stub.GetFaceSnapshot(
        pb.GetFaceSnapshotRequest(face_check_id=check_id, reason="inspection of credited hours"),
        metadata=learning.metadata,
    )
    assert kept.image
    await rpc_failure(
        identity_stub.GetFaceSnapshot(
            pb.GetFaceSnapshotRequest(face_check_id=self_test.face_check_id, reason="after withdrawal"),
            metadata=trainee.metadata,
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    proof = await identity_sql.fetchrow(
        "SELECT * FROM face_data_deletions WHERE id = $1", uuid.UUID(withdrawn.deletion_id)
    )
    assert (proof["records_deleted"], proof["records_retained"]) == (3, 1)
    # Deleting the rest is still refused until its retention ends.
    refused = await rpc_failure(
        identity_stub.DeleteFaceData(
            pb.DeleteFaceDataRequest(user_id=trainee.user_id, reason="and the rest"), metadata=trainee.metadata
        ),
        PRECONDITION,
    )
    assert refused.reason == "RETENTION_NOT_OVER"


async def test_only_the_trainee_withdraws_its_consent(people, identity_stub) -> None:  # type: ignore[no-untyped-def]
    for caller in (people.operator, await people.service("learning")):
        await rpc_failure(
            identity_stub.WithdrawFaceConsent(
                pb.WithdrawFaceConsentRequest(reason="not mine"), metadata=caller.metadata
            ),
            grpc.StatusCode.PERMISSION_DENIED,
        )
    trainee = await people.trainee()
    failure = await rpc_failure(
        identity_stub.WithdrawFaceConsent(pb.WithdrawFaceConsentRequest(), metadata=trainee.metadata),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert failure.fields == ("reason",)
