"""Learning's record chain (docs/records.md): the hour ledger, every column of every entry.

Ledger entries hold no erasable personal data (trainees appear by id only), so the whole entry is
hashed. Institution and region come from the entry's enrollment, for scoping GetChainLinks.
"""

from __future__ import annotations

from sqlalchemy import select

from training_learning.persistence.tables import enrollments, ledger_entries
from training_learning.settings import LearningSettings
from training_records import ChainSet, ChainSpec

LEDGER = "learning.ledger_entries"

_enrollment = enrollments.c.id == ledger_entries.c.enrollment_id

CHAINS = ChainSet(
    "learning",
    [
        ChainSpec(
            name=LEDGER,
            table=ledger_entries,
            id=ledger_entries.c.id,
            columns=tuple(ledger_entries.c),
            order=(ledger_entries.c.sequence,),
            institution=select(enrollments.c.institution_id).where(_enrollment).scalar_subquery(),
            region=select(enrollments.c.region_code).where(_enrollment).scalar_subquery(),
            description="every hour-ledger entry (credits, rejections, corrections, invalidations)",
        )
    ],
    settings=LearningSettings,
)
