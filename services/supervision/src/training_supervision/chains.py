"""Supervision's record chain (docs/records.md): every record queued for the provincial platform, as
queued. Hashed: the record's identity, order, type, day, region, institution and trainee ids and its
data (which holds no personal data; names are added from identity when sent). Delivery state
(status, attempts, errors, acknowledgement) changes and is not hashed; each acknowledgement is also
written to push_receipts, which is chained as well.
"""

from __future__ import annotations

from sqlalchemy import select

from training_records import ChainSet, ChainSpec
from training_supervision.persistence.tables import push_receipts, push_records
from training_supervision.settings import SupervisionSettings

PUSH_RECORDS = "supervision.push_records"
PUSH_RECEIPTS = "supervision.push_receipts"

_c = push_records.c
_HASHED = (
    "id",
    "idempotency_key",
    "record_type",
    "operation",
    "order_key",
    "sequence",
    "occurred_at",
    "day",
    "region_code",
    "institution_id",
    "trainee_id",
    "data",
    "needs_person",
    "hours",
    "passed",
    "created_at",
)

CHAINS = ChainSet(
    "supervision",
    [
        ChainSpec(
            name=PUSH_RECORDS,
            table=push_records,
            id=_c.id,
            columns=tuple(_c[name] for name in _HASHED),
            order=(_c.created_at, _c.id),
            institution=_c.institution_id,
            region=_c.region_code,
            description="every record queued for the provincial platform",
        ),
        ChainSpec(
            name=PUSH_RECEIPTS,
            table=push_receipts,
            id=push_receipts.c.id,
            columns=tuple(push_receipts.c),
            order=(push_receipts.c.acknowledged_at, push_receipts.c.id),
            institution=select(_c.institution_id).where(_c.id == push_receipts.c.push_record_id).scalar_subquery(),
            region=select(_c.region_code).where(_c.id == push_receipts.c.push_record_id).scalar_subquery(),
            description="every acknowledgement the province gave, with its receipt",
        ),
    ],
    settings=SupervisionSettings,
)
