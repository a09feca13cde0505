"""Face consent, enrollment and status (identity). Camera frames travel as base64 in JSON."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Base64Bytes

from training.identity.v1 import identity_pb2 as pb
from training.identity.v1 import identity_pb2_grpc
from training_gateway.deps import Auth, Body, Id, Int32, Services, Text, answers, to_json

router = APIRouter(prefix="/api/v1", tags=["face"])


def _identity(services: Services) -> identity_pb2_grpc.IdentityServiceStub:
    return services.stub("identity", identity_pb2_grpc.IdentityServiceStub)


class ConsentBody(Body):
    purpose: Text
    retention_days: Int32


class ImageBody(Body):
    image: Base64Bytes


@router.post(
    "/face/consent",
    summary="Record the trainee's separate consent to face processing",
    **answers(pb.RecordFaceConsentResponse),
)
async def record_consent(body: ConsentBody, services: Services, auth: Auth):
    request = pb.RecordFaceConsentRequest(purpose=body.purpose, retention_days=body.retention_days)
    return to_json(await services.call(_identity(services).RecordFaceConsent, request, auth))


@router.put(
    "/face/enrollment",
    summary="Enroll (or replace) the trainee's face from a camera frame",
    **answers(pb.EnrollFaceResponse),
)
async def enroll_face(body: ImageBody, services: Services, auth: Auth):
    return to_json(await services.call(_identity(services).EnrollFace, pb.EnrollFaceRequest(image=body.image), auth))


@router.get(
    "/users/{user_id}/face",
    summary="Whether the trainee has consented and enrolled",
    **answers(pb.GetFaceStatusResponse),
)
async def face_status(user_id: Id, services: Services, auth: Auth):
    request = pb.GetFaceStatusRequest(user_id=user_id)
    return to_json(await services.call(_identity(services).GetFaceStatus, request, auth))


@router.post(
    "/users/{user_id}/face/self-test",
    summary="Check the camera against the enrolled face (never counts)",
    **answers(pb.VerifyFaceResponse),
)
async def self_test(user_id: Id, body: ImageBody, services: Services, auth: Auth):
    request = pb.VerifyFaceRequest(user_id=user_id, image=body.image, purpose=pb.FACE_CHECK_PURPOSE_SELF_TEST)
    return to_json(await services.call(_identity(services).VerifyFace, request, auth))


class WithdrawalBody(Body):
    reason: Text


@router.post(
    "/face/consent/withdrawal",
    summary="Withdraw face consent: processing stops; training evidence is kept until its retention ends",
    **answers(pb.WithdrawFaceConsentResponse),
)
async def withdraw_consent(body: WithdrawalBody, services: Services, auth: Auth):
    request = pb.WithdrawFaceConsentRequest(reason=body.reason)
    return to_json(await services.call(_identity(services).WithdrawFaceConsent, request, auth))


@router.delete(
    "/users/{user_id}/face",
    summary="Delete all of the trainee's face data (refused while any of it is a training record under retention)",
    **answers(pb.DeleteFaceDataResponse),
)
async def delete_face(user_id: Id, services: Services, auth: Auth, reason: str = ""):
    request = pb.DeleteFaceDataRequest(user_id=user_id, reason=reason)
    return to_json(await services.call(_identity(services).DeleteFaceData, request, auth))
