"""From the platform's events to provincial records. Events carry ids and facts, never personal
data; the province's copy of a fact is the event's own fields (protobuf JSON names)."""

from __future__ import annotations

import uuid
from typing import Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

from training.certificates.v1 import certificates_events_pb2 as cert
from training.common.v1 import common_pb2
from training.courses.v1 import courses_events_pb2 as cev
from training.exams.v1 import exams_events_pb2 as xev
from training.identity.v1 import identity_events_pb2 as iev
from training.learning.v1 import learning_events_pb2 as lev
from training_runtime.protoconv import from_timestamp
from training_supervision.domain.records import Record, RecordType, institution_key, trainee_key


def facts(message: Message) -> dict[str, Any]:
    return MessageToDict(message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)


def _key(record_type: RecordType, event_id: uuid.UUID) -> str:
    return f"{record_type.value}:{event_id}"


def institution(event_id: uuid.UUID, m: Message, operation: str, region_code: str) -> Record:
    at = {
        "registered": "registered_at",
        "suspended": "suspended_at",
        "reinstated": "reinstated_at",
    }[operation]
    institution_id = m.institution_id  # type: ignore[attr-defined]
    return Record(
        idempotency_key=_key(RecordType.INSTITUTION, event_id),
        record_type=RecordType.INSTITUTION,
        operation=operation,
        order_key=institution_key(institution_id),
        occurred_at=from_timestamp(getattr(m, at)),
        region_code=region_code,
        data=facts(m),
        institution_id=institution_id,
    )


def trainee(m: iev.UserRegistered) -> Record:
    return Record(
        idempotency_key=f"trainee:{m.user_id}",
        record_type=RecordType.TRAINEE,
        operation="registered",
        order_key=trainee_key(m.user_id),
        occurred_at=from_timestamp(m.registered_at),
        region_code=m.region_code,
        data=facts(m),
        trainee_id=m.user_id,
        needs_person=True,
    )


def face_check(event_id: uuid.UUID, m: iev.FaceCheckRecorded, region_code: str) -> Record:
    return Record(
        idempotency_key=_key(RecordType.FACE_CHECK, event_id),
        record_type=RecordType.FACE_CHECK,
        operation="recorded",
        order_key=trainee_key(m.user_id),
        occurred_at=from_timestamp(m.checked_at),
        region_code=region_code,
        data=facts(m),
        trainee_id=m.user_id,
    )


def course(event_id: uuid.UUID, m: Message, operation: str, region_code: str) -> Record:
    at = "published_at" if operation == "published" else "withdrawn_at"
    institution_id = m.institution_id  # type: ignore[attr-defined]
    return Record(
        idempotency_key=_key(RecordType.COURSE, event_id),
        record_type=RecordType.COURSE,
        operation=operation,
        order_key=institution_key(institution_id),
        occurred_at=from_timestamp(getattr(m, at)),
        region_code=region_code,
        data=facts(m),
        institution_id=institution_id,
    )


def training_class(event_id: uuid.UUID, m: cev.ClassOpened) -> Record:
    return Record(
        idempotency_key=_key(RecordType.CLASS, event_id),
        record_type=RecordType.CLASS,
        operation="opened",
        order_key=institution_key(m.institution_id),
        occurred_at=from_timestamp(m.opened_at),
        region_code=m.region_code,
        data=facts(m),
        institution_id=m.institution_id,
    )


def _of_trainee(
    record_type: RecordType, operation: str, event_id: uuid.UUID, m: Any, at: str, **figures: Any
) -> Record:
    return Record(
        idempotency_key=_key(record_type, event_id),
        record_type=record_type,
        operation=operation,
        order_key=trainee_key(m.trainee_id),
        occurred_at=from_timestamp(getattr(m, at)),
        region_code=m.region_code,
        data=facts(m),
        institution_id=m.institution_id,
        trainee_id=m.trainee_id,
        **figures,
    )


def enrollment(event_id: uuid.UUID, m: cev.EnrollmentCreated) -> Record:
    return _of_trainee(RecordType.ENROLLMENT, "created", event_id, m, "enrolled_at")


def hours_credited(event_id: uuid.UUID, m: lev.HoursCredited) -> Record:
    return _of_trainee(RecordType.HOUR_RECORD, "credited", event_id, m, "credited_at", hours=m.credited_hours)


def hours_invalidated(event_id: uuid.UUID, m: lev.HoursInvalidated) -> Record:
    return _of_trainee(
        RecordType.HOUR_INVALIDATION, "invalidated", event_id, m, "invalidated_at", hours=m.invalidated_hours
    )


def completion(event_id: uuid.UUID, m: lev.ClassCompleted) -> Record:
    return _of_trainee(RecordType.COMPLETION, "completed", event_id, m, "completed_at")


def anomaly(event_id: uuid.UUID, m: lev.AnomalyRaised) -> Record:
    return _of_trainee(RecordType.ANOMALY, "raised", event_id, m, "raised_at")


def exam_result(event_id: uuid.UUID, m: xev.AttemptGraded) -> Record:
    return _of_trainee(RecordType.EXAM_RESULT, "graded", event_id, m, "graded_at", passed=m.passed)


def certificate_issued(event_id: uuid.UUID, m: cert.CertificateIssued) -> Record:
    return _of_trainee(RecordType.CERTIFICATE, "issued", event_id, m, "issued_at")


def certificate_revoked(event_id: uuid.UUID, m: cert.CertificateRevoked) -> Record:
    return _of_trainee(RecordType.CERTIFICATE, "revoked", event_id, m, "revoked_at")


def is_trainee(role: int) -> bool:
    return role == common_pb2.ROLE_TRAINEE
