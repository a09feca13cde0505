"""Conversions between the shared vocabulary and protobuf: enums and timestamps."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from training.common.v1 import common_pb2
from training_runtime.auth.principal import Role
from training_runtime.vocabulary import QualificationType, TrainingKind

_QT = {q: common_pb2.QualificationType.Value(f"QUALIFICATION_TYPE_{q.name}") for q in QualificationType}
_TK = {k: common_pb2.TrainingKind.Value(f"TRAINING_KIND_{k.name}") for k in TrainingKind}
_ROLE = {r: common_pb2.Role.Value(f"ROLE_{r.name}") for r in Role}


def _invert(mapping: dict) -> dict:  # type: ignore[type-arg]
    return {v: k for k, v in mapping.items()}


_QT_BACK, _TK_BACK, _ROLE_BACK = _invert(_QT), _invert(_TK), _invert(_ROLE)


def qualification_to_proto(value: QualificationType) -> int:
    return _QT[value]


def qualification_from_proto(value: int) -> QualificationType | None:
    """None for UNSPECIFIED or an unknown number (the caller reports the field)."""
    return _QT_BACK.get(value)


def kind_to_proto(value: TrainingKind) -> int:
    return _TK[value]


def kind_from_proto(value: int) -> TrainingKind | None:
    return _TK_BACK.get(value)


def role_to_proto(value: Role) -> int:
    return _ROLE[value]


def role_from_proto(value: int) -> Role | None:
    return _ROLE_BACK.get(value)


def timestamp(moment: datetime | None) -> Timestamp | None:
    if moment is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(moment.astimezone(UTC))
    return ts


def from_timestamp(ts: Timestamp) -> datetime:
    return ts.ToDatetime(tzinfo=UTC)
