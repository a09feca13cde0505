"""Issuance from events: a certificate per enrollment, once, when its enrollment, class completion
and a passed class-final exam are all known, whatever order they arrive in and however often.

Each event's facts are merged into the enrollment's row with one `INSERT ... ON CONFLICT DO UPDATE
... RETURNING`, which locks that row until the transaction ends; so two events of one enrollment
handled at once by two consumers are serialized, and the second sees the first's facts. The unique
enrollment id on certificates is the last guard. A suspended institution issues nothing: its
complete enrollments wait and are issued when it is reinstated.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from opentelemetry import trace
from sqlalchemy import and_, exists, func, literal, select, update
from sqlalchemy.dialects.postgresql import JSONB, insert

from training.certificates.v1 import certificates_events_pb2 as cev
from training.common.v1 import common_pb2
from training_certificates.app.directory import Directory
from training_certificates.app.records import REVOKED, VALID, row_values
from training_certificates.chains import CHAINS, ISSUANCES, REVOCATIONS
from training_certificates.domain.document import (
    CertificateDocument,
    TopicLine,
    issue_dates,
    new_verification_code,
    serial_number,
)
from training_certificates.domain.signing import CertificateKeys
from training_certificates.persistence.tables import (
    certificates,
    classes,
    enrollment_facts,
    institutions,
    serial_counters,
)
from training_events import Event
from training_events.tracing import current_trace_headers, links_from_headers
from training_records import append, lock_chain
from training_runtime.clock import Clock
from training_runtime.protoconv import kind_to_proto, qualification_to_proto, timestamp
from training_runtime.vocabulary import QualificationType, TrainingKind

ISSUED = "training.certificates.certificate.issued.v1"
REVOKED_SUBJECT = "training.certificates.certificate.revoked.v1"

Emit = Callable[[Event], Awaitable[None]]
_tracer = trace.get_tracer("training_certificates")


class ClassNotYetKnown(Exception):
    """An enrollment is complete but its class's topics have not arrived yet; retried."""


async def merge_facts(session: Any, enrollment_id: str, now: datetime, *, fact: str, **values: Any) -> Any:
    """Merge facts into the enrollment's row (locking it) and return the whole row.

    A stored fact is kept (the first passed final attempt stays the one on the certificate), except
    the completion, which an invalidation may have cleared and a later completion sets again. The
    current trace context is stored under `fact` (the first one seen is kept).
    """
    updates: dict[str, Any] = {"updated_at": now}
    for name, value in values.items():
        column = enrollment_facts.c[name]
        bound = literal(value, column.type)
        updates[name] = bound if name == "completion" else func.coalesce(column, bound)
    arrived = {fact: current_trace_headers()}
    # Keys already stored win (`new || old`): a redelivered or repeated fact keeps its first trace.
    updates["traces"] = literal(arrived, JSONB).op("||")(func.coalesce(enrollment_facts.c.traces, literal({}, JSONB)))
    statement = (
        insert(enrollment_facts)
        .values(enrollment_id=uuid.UUID(enrollment_id), updated_at=now, traces=arrived, **values)
        .on_conflict_do_update(index_elements=[enrollment_facts.c.enrollment_id], set_=updates)
        .returning(*enrollment_facts.c)
    )
    return (await session.execute(statement)).one()


class Issuer:
    def __init__(self, keys: CertificateKeys, directory: Directory, clock: Clock, *, validity_days: int) -> None:
        self._keys = keys
        self._directory = directory
        self._clock = clock
        self._validity_days = validity_days

    async def try_issue(self, session: Any, emit: Emit, facts: Any) -> CertificateDocument | None:
        """Issue the enrollment's certificate if every fact is in and none exists; else do nothing."""
        if facts.enrolled_at is None or facts.completion is None or facts.final_exam is None:
            return None
        if await session.scalar(select(exists().where(certificates.c.enrollment_id == facts.enrollment_id))):
            return None
        status = await session.scalar(select(institutions.c.status).where(institutions.c.id == facts.institution_id))
        if status == "suspended":
            return None
        topics = await session.scalar(select(classes.c.topics).where(classes.c.id == facts.class_id))
        if topics is None:
            raise ClassNotYetKnown(f"class {facts.class_id} of enrollment {facts.enrollment_id} is not known yet")
        # Identity is asked even when our copy says active: a suspension may not have reached us yet.
        trainee, institution = await asyncio.gather(
            self._directory.trainee(str(facts.trainee_id)), self._directory.institution(str(facts.institution_id))
        )
        if institution.suspended:
            return None  # issued on reinstatement
        # The issuance continues the trace of the fact that completed the join and links the
        # traces of the facts that arrived before it.
        current = trace.get_current_span().get_span_context()
        with _tracer.start_as_current_span(
            "certificate issue",
            links=links_from_headers((facts.traces or {}).values(), besides=current),
            attributes={"training.enrollment_id": str(facts.enrollment_id)},
        ):
            return await self._issue(session, emit, facts, topics, trainee, institution)

    async def _issue(
        self, session: Any, emit: Emit, facts: Any, topics: list[dict[str, Any]], trainee: Any, institution: Any
    ) -> CertificateDocument | None:
        document = self._document(facts, topics, trainee.name, trainee.masked_national_id, institution.name)
        # The issuance chain's lock before the serial counter's: every issuing transaction takes them
        # in this order (a transaction issuing several certificates would otherwise deadlock another).
        await lock_chain(session, CHAINS, ISSUANCES)
        document = await self._number(session, document)
        key_id, signature = self._keys.sign(document)
        inserted = await session.scalar(
            insert(certificates)
            .values(
                **row_values(document),
                employer_credit_code=facts.employer_credit_code or "",
                key_id=key_id,
                signature=signature,
                qr_token=self._keys.token(document),
                status=VALID,
            )
            .on_conflict_do_nothing(index_elements=[certificates.c.enrollment_id])
            .returning(certificates.c.id)
        )
        if inserted is None:
            return None
        await append(session, CHAINS, ISSUANCES, [inserted], now=self._clock.now())
        await emit(issued_event(document, key_id))
        return document

    def _document(
        self, facts: Any, topics: list[dict[str, Any]], name: str, masked_id: str, institution_name: str
    ) -> CertificateDocument:
        completion: dict[str, Any] = facts.completion
        exam: dict[str, Any] = facts.final_exam
        codes = {t["topic_id"]: t["code"] for t in topics}
        issued_at = self._clock.now()
        issue_date, valid_until = issue_dates(issued_at, self._validity_days)
        return CertificateDocument(
            certificate_id=str(uuid.uuid4()),
            serial_number="",
            verification_code=new_verification_code(),
            enrollment_id=str(facts.enrollment_id),
            class_id=str(facts.class_id),
            trainee_id=str(facts.trainee_id),
            trainee_name=name,
            trainee_national_id=masked_id,
            qualification_type=completion["qualification_type"],
            operation_type=completion["operation_type"],
            training_kind=completion["training_kind"],
            institution_id=str(facts.institution_id),
            institution_name=institution_name,
            region_code=facts.region_code,
            period_start=facts.enrolled_at,
            period_end=datetime.fromisoformat(completion["completed_at"]),
            topics=tuple(
                TopicLine(
                    topic_id=t["topic_id"],
                    topic_code=codes.get(t["topic_id"], ""),
                    required_hours=int(t["required_hours"]),
                    credited_hours=round(float(t["credited_hours"]), 2),
                )
                for t in completion["topics"]
            ),
            total_hours=round(float(completion["total_credited_hours"]), 2),
            exam_attempt_id=exam["attempt_id"],
            exam_score=float(exam["score"]),
            exam_max_points=float(exam["max_points"]),
            exam_pass_mark=float(exam["pass_mark"]),
            issue_date=issue_date,
            valid_until=valid_until,
            issued_at=issued_at,
        )

    async def _number(self, session: Any, document: CertificateDocument) -> CertificateDocument:
        """Take the next serial number of the region and year (the counter row is locked until commit)."""
        year = document.issue_date.year
        sequence = await session.scalar(
            insert(serial_counters)
            .values(region_code=document.region_code, year=year, last_value=1)
            .on_conflict_do_update(
                index_elements=[serial_counters.c.region_code, serial_counters.c.year],
                set_={"last_value": serial_counters.c.last_value + 1},
            )
            .returning(serial_counters.c.last_value)
        )
        return replace(document, serial_number=serial_number(document.region_code, year, int(sequence)))

    async def issue_held(self, session: Any, emit: Emit, institution_id: str) -> int:
        """After a reinstatement: issue every complete enrollment of the institution still waiting."""
        rows = (
            await session.execute(
                select(enrollment_facts)
                .where(
                    enrollment_facts.c.institution_id == uuid.UUID(institution_id),
                    enrollment_facts.c.enrolled_at.is_not(None),
                    enrollment_facts.c.completion.is_not(None),
                    enrollment_facts.c.final_exam.is_not(None),
                    ~exists().where(certificates.c.enrollment_id == enrollment_facts.c.enrollment_id),
                )
                .with_for_update()
            )
        ).all()
        issued = 0
        for row in rows:
            if await self.try_issue(session, emit, row) is not None:
                issued += 1
        return issued


def issued_event(document: CertificateDocument, key_id: str) -> Event:
    d = document
    return Event(
        subject=ISSUED,
        key=d.certificate_id,
        message=cev.CertificateIssued(
            certificate_id=d.certificate_id,
            serial_number=d.serial_number,
            enrollment_id=d.enrollment_id,
            class_id=d.class_id,
            trainee_id=d.trainee_id,
            institution_id=d.institution_id,
            region_code=d.region_code,
            qualification_type=qualification_to_proto(QualificationType(d.qualification_type)),
            operation_type=d.operation_type,
            training_kind=kind_to_proto(TrainingKind(d.training_kind)),
            total_hours=d.total_hours,
            exam_score=d.exam_score,
            exam_attempt_id=d.exam_attempt_id,
            issue_date=d.issue_date.isoformat(),
            valid_until=d.valid_until.isoformat(),
            key_id=key_id,
            issued_at=timestamp(d.issued_at),
        ),
    )


async def revoke(
    session: Any,
    emit: Emit,
    certificate_id: uuid.UUID,
    *,
    reason: str,
    actor_id: str,
    actor_role: int,
    now: datetime,
) -> Any | None:
    """Revoke a valid certificate (row locked by the update); None if it was revoked already."""
    row = (
        await session.execute(
            update(certificates)
            .where(and_(certificates.c.id == certificate_id, certificates.c.status == VALID))
            .values(
                status=REVOKED,
                revoked_at=now,
                revocation_reason=reason,
                revoked_by=actor_id,
                revoked_role=common_pb2.Role.Name(actor_role),
            )
            .returning(*certificates.c)
        )
    ).one_or_none()
    if row is None:
        return None
    await append(session, CHAINS, REVOCATIONS, [row.id], now=now)
    await emit(
        Event(
            subject=REVOKED_SUBJECT,
            key=str(row.id),
            message=cev.CertificateRevoked(
                certificate_id=str(row.id),
                serial_number=row.serial_number,
                enrollment_id=str(row.enrollment_id),
                trainee_id=str(row.trainee_id),
                institution_id=str(row.institution_id),
                region_code=row.region_code,
                reason=reason,
                actor_id=actor_id,
                actor_role=actor_role,
                revoked_at=timestamp(now),
            ),
        )
    )
    return row
