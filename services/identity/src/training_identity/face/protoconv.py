"""Face enums and records between the domain and protobuf."""

from __future__ import annotations

from training.identity.v1 import identity_pb2 as pb
from training_identity.face.rules import Outcome, Purpose
from training_identity.face.views import FaceCheckView
from training_runtime.protoconv import timestamp

_PURPOSE = {
    Purpose.STUDY_START: pb.FACE_CHECK_PURPOSE_STUDY_START,
    Purpose.STUDY_RANDOM: pb.FACE_CHECK_PURPOSE_STUDY_RANDOM,
    Purpose.STUDY_END: pb.FACE_CHECK_PURPOSE_STUDY_END,
    Purpose.EXAM_START: pb.FACE_CHECK_PURPOSE_EXAM_START,
    Purpose.EXAM_RANDOM: pb.FACE_CHECK_PURPOSE_EXAM_RANDOM,
    Purpose.SELF_TEST: pb.FACE_CHECK_PURPOSE_SELF_TEST,
}
_PURPOSE_BACK = {v: k for k, v in _PURPOSE.items()}

_OUTCOME = {
    Outcome.MATCH: pb.FACE_CHECK_OUTCOME_MATCH,
    Outcome.NO_MATCH: pb.FACE_CHECK_OUTCOME_NO_MATCH,
    Outcome.NO_FACE: pb.FACE_CHECK_OUTCOME_NO_FACE,
    Outcome.MULTIPLE_FACES: pb.FACE_CHECK_OUTCOME_MULTIPLE_FACES,
    Outcome.FACE_TOO_SMALL: pb.FACE_CHECK_OUTCOME_FACE_TOO_SMALL,
}


def purpose_to_proto(purpose: Purpose) -> int:
    return _PURPOSE[purpose]


def purpose_from_proto(value: int) -> Purpose | None:
    """None for FACE_CHECK_PURPOSE_UNSPECIFIED and for values this build does not know."""
    return _PURPOSE_BACK.get(value)  # type: ignore[call-overload]


def outcome_to_proto(outcome: Outcome) -> int:
    return _OUTCOME[outcome]


def face_check_pb(view: FaceCheckView) -> pb.FaceCheck:
    return pb.FaceCheck(
        face_check_id=view.face_check_id,
        user_id=view.user_id,
        purpose=purpose_to_proto(view.purpose),
        outcome=outcome_to_proto(view.outcome),
        matched=view.matched,
        distance=view.distance or 0.0,
        threshold=view.threshold,
        context_ref=view.context_ref,
        checked_at=timestamp(view.checked_at),
        checked_by=view.checked_by,
        has_snapshot=view.has_snapshot,
    )
