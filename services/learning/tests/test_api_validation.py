"""Bad input is INVALID_ARGUMENT naming every offending field, and leaves nothing behind."""

from __future__ import annotations

import uuid

import grpc

from training.common.v1 import common_pb2
from training.learning.v1 import learning_pb2 as pb
from training_runtime.protoconv import timestamp
from training_testkit.rpc import rpc_failure

from .conftest import FACES, SAME_PERSON

INVALID = grpc.StatusCode.INVALID_ARGUMENT


async def test_a_start_without_its_parts_names_every_missing_field(learner) -> None:
    me = await learner()
    failure = await rpc_failure(
        me.classroom.stub.StartStudy(pb.StartStudyRequest(device_id="x"), metadata=me.person.metadata), INVALID
    )
    assert set(failure.fields) == {"enrollment_id", "lesson_id", "device_id", "face_image", "client_time"}
    assert await me.entries() == []


async def test_a_malformed_heartbeat_names_every_bad_field_and_changes_nothing(learner, training_clock) -> None:
    me = await learner()
    player = await me.start()
    await player.beat(advance=0)
    failure = await rpc_failure(
        me.classroom.stub.SendHeartbeat(
            pb.SendHeartbeatRequest(
                heartbeat=pb.Heartbeat(session_id=player.session_id, sequence=0, position_seconds=-1, playback_rate=99)
            ),
            metadata=me.person.metadata,
        ),
        INVALID,
    )
    assert set(failure.fields) == {
        "heartbeat.sequence",
        "heartbeat.position_seconds",
        "heartbeat.playback_rate",
        "heartbeat.client_time",
    }
    ack = await player.beat()
    assert ack.reason == "VERIFIED"
    assert ack.pending_seconds == 10


async def test_someone_elses_session_does_not_exist_for_the_caller(learner) -> None:
    me = await learner()
    other = await learner()
    player = await me.start()
    hidden = await rpc_failure(
        other.classroom.stub.SendHeartbeat(
            pb.SendHeartbeatRequest(
                heartbeat=pb.Heartbeat(
                    session_id=player.session_id,
                    sequence=1,
                    position_seconds=0,
                    playback_rate=1,
                    focused=True,
                    client_time=timestamp(player.clock.now()),
                )
            ),
            metadata=other.person.metadata,
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    assert "study session" in hidden.message
    hidden = await rpc_failure(
        other.classroom.stub.SubmitFaceCheck(
            pb.SubmitFaceCheckRequest(session_id=player.session_id, face_image=FACES[SAME_PERSON]),
            metadata=other.person.metadata,
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    assert hidden.code == grpc.StatusCode.NOT_FOUND


async def test_invalidating_more_than_a_thousand_entries_at_once_is_refused(learning_stub, people) -> None:
    # Found by fuzzing: each of thousands of ids was parsed and named before any limit applied.
    regulator = await people.account(common_pb2.ROLE_REGULATOR, region_code="440000")
    failure = await rpc_failure(
        learning_stub.InvalidateHours(
            pb.InvalidateHoursRequest(enrollment_id=str(uuid.uuid4()), entry_ids=["x"] * 1001, reason="查实代学"),
            metadata=regulator.metadata,
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert failure.fields == ("entry_ids",)


async def test_study_records_need_an_enrollment_id_that_is_a_uuid(learner) -> None:
    me = await learner()
    for bad in ("", "not-a-uuid"):
        failure = await rpc_failure(
            me.classroom.stub.ListStudyRecords(
                pb.ListStudyRecordsRequest(enrollment_id=bad), metadata=me.person.metadata
            ),
            INVALID,
        )
        assert set(failure.fields) == {"enrollment_id"}
