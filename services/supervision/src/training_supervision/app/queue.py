"""Putting records in the push queue, inside the consumer's transaction.

Each record takes the next sequence number of its order key (the key's row is locked until commit,
so numbers follow commit order). A record about a trainee is always preceded, in that trainee's
order, by the trainee record itself: whichever event first names a trainee brings it in.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from training_events.tracing import current_trace_headers
from training_records import append, lock_chain
from training_supervision.chains import CHAINS, PUSH_RECORDS
from training_supervision.domain.records import (
    PushStatus,
    Record,
    RecordType,
    day_of,
    trainee_key,
    trainee_record_key,
)
from training_supervision.persistence.tables import order_keys, push_records


async def enqueue(session: Any, record: Record, now: datetime) -> bool:
    """Queue `record` unless its idempotency key is queued already; True when it was added."""
    if record.trainee_id and record.record_type is not RecordType.TRAINEE:
        await _ensure_trainee(session, record, now)
    return await _insert(session, record, now)


async def _ensure_trainee(session: Any, record: Record, now: datetime) -> None:
    assert record.trainee_id is not None
    key = trainee_record_key(record.trainee_id)
    if await session.scalar(select(push_records.c.id).where(push_records.c.idempotency_key == key)) is not None:
        return
    await _insert(
        session,
        Record(
            idempotency_key=key,
            record_type=RecordType.TRAINEE,
            operation="registered",
            order_key=trainee_key(record.trainee_id),
            occurred_at=record.occurred_at,
            region_code=record.region_code,
            data={"user_id": record.trainee_id, "region_code": record.region_code},
            trainee_id=record.trainee_id,
            needs_person=True,
        ),
        now,
    )


async def _insert(session: Any, record: Record, now: datetime) -> bool:
    known = await session.scalar(
        select(push_records.c.id).where(push_records.c.idempotency_key == record.idempotency_key)
    )
    if known is not None:
        return False
    # The chain's lock before the order key's: every queuing transaction takes them in this order.
    await lock_chain(session, CHAINS, PUSH_RECORDS)
    sequence = await session.scalar(
        insert(order_keys)
        .values(key=record.order_key, next_sequence=2)
        .on_conflict_do_update(
            index_elements=[order_keys.c.key], set_={"next_sequence": order_keys.c.next_sequence + 1}
        )
        .returning(order_keys.c.next_sequence - 1)
    )
    added = await session.scalar(
        insert(push_records)
        .values(
            id=uuid.uuid4(),
            idempotency_key=record.idempotency_key,
            record_type=record.record_type.value,
            operation=record.operation,
            order_key=record.order_key,
            sequence=sequence,
            occurred_at=record.occurred_at,
            day=day_of(record.occurred_at),
            region_code=record.region_code,
            institution_id=uuid.UUID(record.institution_id) if record.institution_id else None,
            trainee_id=uuid.UUID(record.trainee_id) if record.trainee_id else None,
            data=record.data,
            needs_person=record.needs_person,
            hours=record.hours,
            passed=record.passed,
            status=PushStatus.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            trace=current_trace_headers() or None,
        )
        .on_conflict_do_nothing(index_elements=[push_records.c.idempotency_key])
        .returning(push_records.c.id)
    )
    if added is None:
        return False
    await append(session, CHAINS, PUSH_RECORDS, [added], now=now)
    return True


async def region_of_trainee(session: Any, trainee_id: str) -> str:
    found = await session.scalar(
        select(push_records.c.region_code).where(push_records.c.idempotency_key == trainee_record_key(trainee_id))
    )
    return found or ""


async def region_of_institution(session: Any, institution_id: str) -> str:
    found = await session.scalar(
        select(push_records.c.region_code)
        .where(
            push_records.c.record_type == RecordType.INSTITUTION.value,
            push_records.c.institution_id == uuid.UUID(institution_id),
        )
        .order_by(push_records.c.sequence)
        .limit(1)
    )
    return found or ""
