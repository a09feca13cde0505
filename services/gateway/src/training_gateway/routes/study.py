"""Studying a lesson (learning): start with a face check, heartbeats, random face checks, end."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import AwareDatetime, Base64Bytes

from training.learning.v1 import learning_pb2 as pb
from training.learning.v1 import learning_pb2_grpc
from training_gateway.deps import Auth, Body, Id, Int64, Services, Text, answers, to_json
from training_runtime.protoconv import timestamp

router = APIRouter(prefix="/api/v1/study-sessions", tags=["study"])


def _learning(services: Services) -> learning_pb2_grpc.LearningServiceStub:
    return services.stub("learning", learning_pb2_grpc.LearningServiceStub)


class StartBody(Body):
    enrollment_id: Text
    lesson_id: Text
    device_id: Text
    face_image: Base64Bytes
    client_time: AwareDatetime


class HeartbeatBody(Body):
    sequence: Int64
    position_seconds: float
    playback_rate: float
    focused: bool
    client_time: AwareDatetime


class FaceFrameBody(Body):
    face_image: Base64Bytes


class EndBody(Body):
    face_image: Base64Bytes = b""


@router.post(
    "", status_code=201, summary="Start studying a lesson with a passed face check", **answers(pb.StartStudyResponse)
)
async def start_study(body: StartBody, services: Services, auth: Auth):
    request = pb.StartStudyRequest(
        enrollment_id=body.enrollment_id,
        lesson_id=body.lesson_id,
        device_id=body.device_id,
        face_image=body.face_image,
        client_time=timestamp(body.client_time),
    )
    return to_json(await services.call(_learning(services).StartStudy, request, auth))


@router.post(
    "/{session_id}/heartbeats",
    summary="One player heartbeat (every interval of the rulebook)",
    **answers(pb.SendHeartbeatResponse),
)
async def send_heartbeat(session_id: Id, body: HeartbeatBody, services: Services, auth: Auth):
    heartbeat = pb.Heartbeat(
        session_id=session_id,
        sequence=body.sequence,
        position_seconds=body.position_seconds,
        playback_rate=body.playback_rate,
        focused=body.focused,
        client_time=timestamp(body.client_time),
    )
    return to_json(
        await services.call(_learning(services).SendHeartbeat, pb.SendHeartbeatRequest(heartbeat=heartbeat), auth)
    )


@router.post(
    "/{session_id}/face-checks",
    summary="A camera frame for a due check, or to resume paused study",
    **answers(pb.SubmitFaceCheckResponse),
)
async def submit_face_check(session_id: Id, body: FaceFrameBody, services: Services, auth: Auth):
    request = pb.SubmitFaceCheckRequest(session_id=session_id, face_image=body.face_image)
    return to_json(await services.call(_learning(services).SubmitFaceCheck, request, auth))


@router.post(
    "/{session_id}/end", summary="End a study session, with a closing face check", **answers(pb.EndStudyResponse)
)
async def end_study(session_id: Id, body: EndBody, services: Services, auth: Auth):
    request = pb.EndStudyRequest(session_id=session_id, face_image=body.face_image)
    return to_json(await services.call(_learning(services).EndStudy, request, auth))
