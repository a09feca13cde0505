"""Face checks at identity's VerifyFace, for the services that check a trainee's face (learning
during study, exams at the start of an attempt). Calls go over the caller's authenticated channel
(`ctx.clients.channel(settings.identity_url)`), so identity sees the calling service's token.

identity's answers become domain errors: an unusable photo is INVALID_ARGUMENT on `face_image`, a
trainee without an enrolled face FAILED_PRECONDITION FACE_NOT_ENROLLED, anything else UNAVAILABLE.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from training.identity.v1 import identity_pb2 as ipb
from training.identity.v1 import identity_pb2_grpc
from training_runtime.errors import FailedPrecondition, InvalidArgument, Unavailable
from training_runtime.server.status import field_violations

# Why a check is made, as callers name it.
PURPOSES = {
    "start": ipb.FACE_CHECK_PURPOSE_STUDY_START,
    "random": ipb.FACE_CHECK_PURPOSE_STUDY_RANDOM,
    "end": ipb.FACE_CHECK_PURPOSE_STUDY_END,
    "exam_start": ipb.FACE_CHECK_PURPOSE_EXAM_START,
    "exam_random": ipb.FACE_CHECK_PURPOSE_EXAM_RANDOM,
}


@dataclass(frozen=True)
class FaceResult:
    face_check_id: str
    passed: bool
    # Identity's outcome in the rulebook's words: "match", "no_match", "no_face", ...
    outcome: str
    distance: float


class FaceVerifier:
    def __init__(self, channel: grpc.aio.Channel, *, timeout: float) -> None:
        self._stub = identity_pb2_grpc.IdentityServiceStub(channel)
        self._timeout = timeout

    async def verify(self, trainee_id: str, image: bytes, *, purpose: str, context_ref: str) -> FaceResult:
        """Match `image` against the trainee's enrolled face; identity stores the check record."""
        try:
            response = await self._stub.VerifyFace(
                ipb.VerifyFaceRequest(
                    user_id=trainee_id, image=image, purpose=PURPOSES[purpose], context_ref=context_ref
                ),
                timeout=self._timeout,
            )
        except grpc.aio.AioRpcError as exc:
            raise _translate(exc) from exc
        outcome = ipb.FaceCheckOutcome.Name(response.outcome).removeprefix("FACE_CHECK_OUTCOME_").lower()
        return FaceResult(
            face_check_id=response.face_check_id,
            passed=response.matched and response.outcome == ipb.FACE_CHECK_OUTCOME_MATCH,
            outcome=outcome,
            distance=response.distance,
        )


def _translate(exc: grpc.aio.AioRpcError) -> Exception:
    code = exc.code()
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        problems = field_violations(exc)
        return InvalidArgument("face_image", problems.get("image") or exc.details() or "is not a usable photo")
    if code == grpc.StatusCode.FAILED_PRECONDITION:
        return FailedPrecondition("FACE_NOT_ENROLLED", f"identity cannot check this trainee's face: {exc.details()}")
    return Unavailable(f"face verification is not available ({code.name}); retry shortly")
