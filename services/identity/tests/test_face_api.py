"""Face consent, enrollment, verification, reads and deletion through identity's gRPC API, on real
photographs, against real PostgreSQL and NATS."""

from __future__ import annotations

import asyncio
import io
import uuid

import grpc
import pytest
from PIL import Image

from training.identity.v1 import identity_events_pb2 as events
from training.identity.v1 import identity_pb2 as pb
from training_identity.testing import FACE_CONSENT_PURPOSE
from training_testkit.rpc import rpc_failure

INVALID = grpc.StatusCode.INVALID_ARGUMENT
PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION


async def consent(stub, person, retention_days: int = 1095) -> pb.RecordFaceConsentResponse:  # type: ignore[no-untyped-def]
    return await stub.RecordFaceConsent(
        pb.RecordFaceConsentRequest(purpose=FACE_CONSENT_PURPOSE, retention_days=retention_days),
        metadata=person.metadata,
    )


async def verify(stub, caller, user_id: str, image: bytes, **fields):  # type: ignore[no-untyped-def]
    request = pb.VerifyFaceRequest(
        user_id=user_id, image=image, purpose=fields.pop("purpose", pb.FACE_CHECK_PURPOSE_STUDY_RANDOM), **fields
    )
    return await stub.VerifyFace(request, metadata=caller.metadata)


async def test_enrollment_requires_consent_first(identity_stub, people, face_photos) -> None:  # type: ignore[no-untyped-def]
    trainee = await people.trainee()
    failure = await rpc_failure(
        identity_stub.EnrollFace(pb.EnrollFaceRequest(image=face_photos["obama.jpg"]), metadata=trainee.metadata),
        PRECONDITION,
    )
    assert failure.reason == "FACE_CONSENT_REQUIRED"


async def test_consent_records_purpose_time_and_retention(identity_stub, people, identity_sql) -> None:  # type: ignore[no-untyped-def]
    trainee = await people.trainee()
    recorded = await consent(identity_stub, trainee, retention_days=30)
    assert (recorded.retain_until.ToDatetime() - recorded.consented_at.ToDatetime()).days == 30
    row = await identity_sql.fetchrow("SELECT * FROM face_consents WHERE id = $1", uuid.UUID(recorded.consent_id))
    assert row["purpose"] == FACE_CONSENT_PURPOSE
    assert str(row["user_id"]) == trainee.user_id
    assert row["withdrawn_at"] is None


async def test_consent_without_purpose_or_retention_is_refused(identity_stub, people) -> None:  # type: ignore[no-untyped-def]
    trainee = await people.trainee()
    failure = await rpc_failure(
        identity_stub.RecordFaceConsent(pb.RecordFaceConsentRequest(), metadata=trainee.metadata), INVALID
    )
    assert set(failure.fields) == {"purpose", "retention_days"}


@pytest.mark.parametrize(
    ("photo", "reason"),
    [("two_people.jpg", "FACE_MULTIPLE"), ("noise", "FACE_NOT_FOUND"), ("small", "FACE_TOO_SMALL")],
)
async def test_enrollment_refuses_photos_without_exactly_one_usable_face(  # type: ignore[no-untyped-def]
    identity_stub, people, face_photos, pictures, identity_sql, photo, reason
) -> None:
    image = {"noise": pictures.noise, "small": lambda: pictures.scaled("obama.jpg", 240)}.get(
        photo, lambda: face_photos[photo]
    )()
    trainee = await people.trainee()
    await consent(identity_stub, trainee)
    failure = await rpc_failure(
        identity_stub.EnrollFace(pb.EnrollFaceRequest(image=image), metadata=trainee.metadata), PRECONDITION
    )
    assert failure.reason == reason
    stored = await identity_sql.fetchval(
        "SELECT count(*) FROM face_snapshots WHERE user_id = $1", uuid.UUID(trainee.user_id)
    )
    assert stored == 0, "a refused enrollment leaves nothing behind"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p, limit: b"", "IMAGE_EMPTY"),
        (lambda p, limit: b"GIF89a-not-really" * 40, "IMAGE_NOT_AN_IMAGE"),
        (lambda p, limit: p.truncated("obama.jpg"), "IMAGE_TRUNCATED"),
        (lambda p, limit: p.in_format("obama_small.jpg", "GIF"), "IMAGE_FORMAT_UNSUPPORTED"),
        (lambda p, limit: p.huge_png(), "IMAGE_DIMENSIONS_TOO_LARGE"),
        (lambda p, limit: b"\xff\xd8\xff" + b"\0" * limit, "IMAGE_TOO_LARGE"),
    ],
    ids=["empty", "not-an-image", "truncated-jpeg", "unsupported-format", "huge-dimensions", "oversize-upload"],
)
async def test_unreadable_uploads_are_invalid_arguments_naming_the_image(  # type: ignore[no-untyped-def]
    identity_stub, identity_app, people, pictures, make, reason
) -> None:
    trainee = await people.enrolled_trainee()
    image = make(pictures, identity_app.settings.face_max_upload_bytes)
    for call in (
        identity_stub.EnrollFace(pb.EnrollFaceRequest(image=image), metadata=trainee.metadata),
        verify(identity_stub, trainee, trainee.user_id, image),
    ):
        failure = await rpc_failure(call, INVALID)
        assert failure.fields == ("image",)
        assert failure.reason == reason


async def test_same_person_matches_and_the_other_person_does_not(identity_stub, people, face_photos) -> None:  # type: ignore[no-untyped-def]
    trainee = await people.enrolled_trainee(face_photos["obama.jpg"])
    same = await verify(identity_stub, trainee, trainee.user_id, face_photos["obama2.jpg"])
    assert same.outcome == pb.FACE_CHECK_OUTCOME_MATCH
    assert same.matched
    assert 0 < same.distance <= same.threshold
    other = await verify(identity_stub, trainee, trainee.user_id, face_photos["biden.jpg"])
    assert other.outcome == pb.FACE_CHECK_OUTCOME_NO_MATCH
    assert not other.matched
    assert other.distance > other.threshold
    assert same.face_check_id != other.face_check_id


async def test_re_enrollment_replaces_the_baseline(identity_stub, people, face_photos, identity_sql) -> None:  # type: ignore[no-untyped-def]
    trainee = await people.enrolled_trainee(face_photos["biden.jpg"])
    await identity_stub.EnrollFace(pb.EnrollFaceRequest(image=face_photos["obama.jpg"]), metadata=trainee.metadata)
    result = await verify(identity_stub, trainee, trainee.user_id, face_photos["obama3.jpg"])
    assert result.matched
    baselines = await identity_sql.fetchval(
        "SELECT count(*) FROM face_snapshots WHERE user_id = $1 AND kind = 'baseline'", uuid.UUID(trainee.user_id)
    )
    assert baselines == 1, "the replaced baseline photo is deleted with its embedding"


@pytest.mark.parametrize(
    ("photo", "outcome"),
    [
        ("noise", pb.FACE_CHECK_OUTCOME_NO_FACE),
        ("plain", pb.FACE_CHECK_OUTCOME_NO_FACE),
        ("two_people.jpg", pb.FACE_CHECK_OUTCOME_MULTIPLE_FACES),
        ("small", pb.FACE_CHECK_OUTCOME_FACE_TOO_SMALL),
    ],
)
async def test_a_probe_without_one_usable_face_is_a_recorded_failed_check(  # type: ignore[no-untyped-def]
    identity_stub, people, face_photos, pictures, identity_sql, photo, outcome
) -> None:
    image = {
        "noise": pictures.noise,
        "plain": pictures.plain,
        "small": lambda: pictures.scaled("obama.jpg", 240),
    }.get(photo, lambda: face_photos[photo])()
    trainee = await people.enrolled_trainee()
    result = await verify(identity_stub, trainee, trainee.user_id, image)
    assert result.outcome == outcome
    assert not result.matched
    assert result.distance == 0.0
    row = await identity_sql.fetchrow("SELECT * FROM face_checks WHERE id = $1", uuid.UUID(result.face_check_id))
    assert row["distance"] is None
    assert row["snapshot_id"] is not None


async def test_verification_stores_the_check_and_publishes_it(  # type: ignore[no-untyped-def]
    identity_stub, people, face_photos, identity_sql, nats_client
) -> None:
    trainee = await people.enrolled_trainee()
    service = await people.service("learning")
    received: asyncio.Queue = asyncio.Queue()
    subscription = await nats_client.subscribe("training.identity.face_check.recorded.v1", cb=received.put)
    try:
        context_ref = f"study-session:{uuid.uuid4()}"
        result = await verify(
            identity_stub,
            service,
            trainee.user_id,
            face_photos["obama3.jpg"],
            purpose=pb.FACE_CHECK_PURPOSE_STUDY_START,
            context_ref=context_ref,
        )
        while True:
            message = await asyncio.wait_for(received.get(), timeout=10)
            event = events.FaceCheckRecorded.FromString(message.data)
            if event.face_check_id == result.face_check_id:
                break
    finally:
        await subscription.unsubscribe()
    assert event.user_id == trainee.user_id
    assert event.outcome == pb.FACE_CHECK_OUTCOME_MATCH
    assert event.purpose == pb.FACE_CHECK_PURPOSE_STUDY_START
    assert event.context_ref == context_ref
    assert event.distance == pytest.approx(result.distance)
    assert event.threshold == result.threshold
    row = await identity_sql.fetchrow("SELECT * FROM face_checks WHERE id = $1", uuid.UUID(result.face_check_id))
    assert (row["purpose"], row["outcome"], row["checked_by"]) == ("study_start", "match", "service:learning")
    assert row["context_ref"] == context_ref
    assert row["distance"] == pytest.approx(result.distance)
    assert row["threshold"] == result.threshold


async def test_verify_needs_an_enrolled_baseline(identity_stub, people, face_photos) -> None:  # type: ignore[no-untyped-def]
    trainee = await people.trainee()
    await consent(identity_stub, trainee)
    failure = await rpc_failure(verify(identity_stub, trainee, trainee.user_id, face_photos["obama.jpg"]), PRECONDITION)
    assert failure.reason == "FACE_NOT_ENROLLED"


async def test_verify_names_every_bad_field(identity_stub, people, face_photos) -> None:  # type: ignore[no-untyped-def]
    service = await people.service("exams")
    failure = await rpc_failure(
        verify(
            identity_stub,
            service,
            "not-a-uuid",
            face_photos["obama.jpg"],
            purpose=pb.FACE_CHECK_PURPOSE_UNSPECIFIED,
            context_ref="x" * 201,
        ),
        INVALID,
    )
    assert set(failure.fields) == {"user_id", "purpose", "context_ref"}


async def test_face_data_is_encrypted_at_rest(identity_stub, people, face_photos, identity_sql) -> None:  # type: ignore[no-untyped-def]
    trainee = await people.enrolled_trainee()
    await verify(identity_stub, trainee, trainee.user_id, face_photos["obama2.jpg"])
    user_id = uuid.UUID(trainee.user_id)
    baseline = await identity_sql.fetchrow("SELECT * FROM face_baselines WHERE user_id = $1", user_id)
    snapshots = await identity_sql.fetch("SELECT image_enc FROM face_snapshots WHERE user_id = $1", user_id)
    assert len(snapshots) == 2
    for row in snapshots:
        assert b"\xff\xd8\xff" not in row["image_enc"][:64], "a stored snapshot must not be a readable JPEG"
        with pytest.raises(OSError):
            Image.open(io.BytesIO(row["image_enc"]))
    # 128 float64 values sealed: 1024 bytes plus key id, nonce and tag.
    assert len(baseline["embedding_enc"]) > 1024 + 12 + 16


async def test_snapshot_reads_return_the_analysed_jpeg_and_are_logged(  # type: ignore[no-untyped-def]
    identity_stub, people, face_photos, identity_sql
) -> None:
    trainee = await people.enrolled_trainee()
    service = await people.service("supervision")
    result = await verify(identity_stub, trainee, trainee.user_id, face_photos["obama2.jpg"])
    reason = "push face-check evidence to the provincial platform"
    got = await identity_stub.GetFaceSnapshot(
        pb.GetFaceSnapshotRequest(face_check_id=result.face_check_id, reason=reason), metadata=service.metadata
    )
    assert got.content_type == "image/jpeg"
    assert Image.open(io.BytesIO(got.image)).format == "JPEG"
    assert got.face_check.outcome == pb.FACE_CHECK_OUTCOME_MATCH
    assert got.face_check.checked_by == trainee.user_id
    entry = await identity_sql.fetchrow(
        "SELECT * FROM face_data_access WHERE user_id = $1 AND action = 'read_snapshot'", uuid.UUID(trainee.user_id)
    )
    assert (entry["actor_id"], entry["actor_role"], entry["reason"]) == ("service:supervision", "service", reason)


async def test_every_touch_of_face_data_is_in_the_access_log(  # type: ignore[no-untyped-def]
    identity_stub, people, face_photos, identity_sql
) -> None:
    trainee = await people.enrolled_trainee()
    service = await people.service("learning")
    await verify(identity_stub, service, trainee.user_id, face_photos["obama2.jpg"])
    await identity_stub.ListFaceChecks(
        pb.ListFaceChecksRequest(user_id=trainee.user_id, reason="show my check history"), metadata=trainee.metadata
    )
    rows = await identity_sql.fetch(
        "SELECT action, actor_id, reason FROM face_data_access WHERE user_id = $1 ORDER BY accessed_at",
        uuid.UUID(trainee.user_id),
    )
    assert [(r["action"], r["actor_id"]) for r in rows] == [
        ("enroll", trainee.user_id),
        ("verify", "service:learning"),
        ("list_checks", trainee.user_id),
    ]
    assert rows[1]["reason"] == "study_random"
    assert rows[2]["reason"] == "show my check history"


async def test_reads_must_say_why(identity_stub, people) -> None:  # type: ignore[no-untyped-def]
    trainee = await people.enrolled_trainee()
    failure = await rpc_failure(
        identity_stub.ListFaceChecks(pb.ListFaceChecksRequest(user_id=trainee.user_id), metadata=trainee.metadata),
        INVALID,
    )
    assert failure.fields == ("reason",)


async def test_face_checks_are_listed_newest_first_in_pages(identity_stub, people, face_photos) -> None:  # type: ignore[no-untyped-def]
    trainee = await people.enrolled_trainee()
    made = [
        (await verify(identity_stub, trainee, trainee.user_id, face_photos[name])).face_check_id
        for name in ("obama2.jpg", "biden.jpg", "obama3.jpg")
    ]
    seen, token = [], ""
    while True:
        page = await identity_stub.ListFaceChecks(
            pb.ListFaceChecksRequest(
                user_id=trainee.user_id, reason="history", page={"page_size": 2, "page_token": token}
            ),
            metadata=trainee.metadata,
        )
        seen += [c.face_check_id for c in page.face_checks]
        token = page.next_page_token
        if not token:
            break
    assert seen == list(reversed(made))


async def test_face_status_tells_consent_and_enrollment(identity_stub, people) -> None:  # type: ignore[no-untyped-def]
    trainee = await people.trainee()
    service = await people.service("learning")
    request = pb.GetFaceStatusRequest(user_id=trainee.user_id)
    before = await identity_stub.GetFaceStatus(request, metadata=service.metadata)
    assert (before.consented, before.enrolled) == (False, False)
    enrolled = await people.enrolled_trainee()
    after = await identity_stub.GetFaceStatus(
        pb.GetFaceStatusRequest(user_id=enrolled.user_id), metadata=enrolled.metadata
    )
    assert (after.consented, after.enrolled) == (True, True)


async def test_deletion_removes_face_data_and_keeps_proof(  # type: ignore[no-untyped-def]
    identity_stub, people, face_photos, identity_sql, nats_client
) -> None:
    trainee = await people.enrolled_trainee()
    check = await verify(identity_stub, trainee, trainee.user_id, face_photos["obama2.jpg"])
    await verify(identity_stub, trainee, trainee.user_id, face_photos["biden.jpg"])
    user_id = uuid.UUID(trainee.user_id)
    received: asyncio.Queue = asyncio.Queue()
    subscription = await nats_client.subscribe("training.identity.face_data.deleted.v1", cb=received.put)
    try:
        deleted = await identity_stub.DeleteFaceData(
            pb.DeleteFaceDataRequest(user_id=trainee.user_id, reason="consent withdrawn"), metadata=trainee.metadata
        )
        while True:
            event = events.FaceDataDeleted.FromString((await asyncio.wait_for(received.get(), timeout=10)).data)
            if event.deletion_id == deleted.deletion_id:
                break
    finally:
        await subscription.unsubscribe()
    assert deleted.records_deleted == 4  # the baseline embedding, its photo and two probe snapshots
    assert event.records_deleted == 4
    assert await identity_sql.fetchval("SELECT count(*) FROM face_baselines WHERE user_id = $1", user_id) == 0
    assert await identity_sql.fetchval("SELECT count(*) FROM face_snapshots WHERE user_id = $1", user_id) == 0
    proof = await identity_sql.fetchrow(
        "SELECT * FROM face_data_deletions WHERE id = $1", uuid.UUID(deleted.deletion_id)
    )
    assert (proof["actor_id"], proof["reason"], proof["records_deleted"]) == (trainee.user_id, "consent withdrawn", 4)
    assert len(proof["digest"]) == 64
    assert proof["summary"] == "face_baselines: 1, face_snapshots: 3"
    # The check records stay (they are the evidence for credited hours); their snapshots are gone.
    listed = await identity_stub.ListFaceChecks(
        pb.ListFaceChecksRequest(user_id=trainee.user_id, reason="after deletion"), metadata=trainee.metadata
    )
    assert len(listed.face_checks) == 2
    assert not any(c.has_snapshot for c in listed.face_checks)
    await rpc_failure(
        identity_stub.GetFaceSnapshot(
            pb.GetFaceSnapshotRequest(face_check_id=check.face_check_id, reason="after deletion"),
            metadata=trainee.metadata,
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    failure = await rpc_failure(verify(identity_stub, trainee, trainee.user_id, face_photos["obama.jpg"]), PRECONDITION)
    assert failure.reason == "FACE_NOT_ENROLLED"
    # Enrolling again needs a fresh consent: the old one ended with the deletion.
    failure = await rpc_failure(
        identity_stub.EnrollFace(pb.EnrollFaceRequest(image=face_photos["obama.jpg"]), metadata=trainee.metadata),
        PRECONDITION,
    )
    assert failure.reason == "FACE_CONSENT_REQUIRED"


async def test_no_check_or_enrollment_once_the_consented_retention_is_over(  # type: ignore[no-untyped-def]
    identity_stub, people, face_photos, identity_sql
) -> None:
    trainee = await people.enrolled_trainee()
    # Stand in for the passing of the retention period: the consent's end moves into the past.
    await identity_sql.execute(
        "UPDATE face_consents SET retain_until = now() - interval '1 day' WHERE user_id = $1",
        uuid.UUID(trainee.user_id),
    )
    failure = await rpc_failure(
        verify(identity_stub, trainee, trainee.user_id, face_photos["obama2.jpg"]), PRECONDITION
    )
    assert failure.reason == "FACE_CONSENT_REQUIRED"
    failure = await rpc_failure(
        identity_stub.EnrollFace(pb.EnrollFaceRequest(image=face_photos["obama.jpg"]), metadata=trainee.metadata),
        PRECONDITION,
    )
    assert failure.reason == "FACE_CONSENT_REQUIRED"
    status = await identity_stub.GetFaceStatus(
        pb.GetFaceStatusRequest(user_id=trainee.user_id), metadata=trainee.metadata
    )
    assert not status.consented


async def test_a_check_racing_a_deletion_leaves_no_face_data_behind(  # type: ignore[no-untyped-def]
    identity_stub, people, face_photos, identity_sql
) -> None:
    for _ in range(3):
        trainee = await people.enrolled_trainee()
        service = await people.service("learning")
        checked, deleted = await asyncio.gather(
            verify(identity_stub, service, trainee.user_id, face_photos["obama2.jpg"]),
            identity_stub.DeleteFaceData(
                pb.DeleteFaceDataRequest(user_id=trainee.user_id, reason="consent withdrawn"),
                metadata=trainee.metadata,
            ),
            return_exceptions=True,
        )
        assert not isinstance(deleted, BaseException), deleted
        if isinstance(checked, BaseException):
            # The deletion won: the check found no baseline.
            assert checked.code() == PRECONDITION
        remaining = await identity_sql.fetchval(
            "SELECT count(*) FROM face_snapshots WHERE user_id = $1", uuid.UUID(trainee.user_id)
        )
        assert remaining == 0
