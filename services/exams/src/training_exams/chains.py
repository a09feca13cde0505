"""Exams' record chain (docs/records.md): graded attempts, linked when they are graded (an attempt
in progress still changes; once graded it does not).

Hashed: every column of the attempt and `answers`, the attempt's stored answers as
[[position, [selected options]], ...] in position order. No personal data: trainees appear by id.
"""

from __future__ import annotations

from sqlalchemy import func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from training_exams.persistence.tables import attempt_answers, attempts
from training_exams.settings import ExamsSettings
from training_records import ChainSet, ChainSpec

GRADED_ATTEMPTS = "exams.graded_attempts"

_answers = (
    select(
        func.coalesce(
            func.jsonb_agg(
                aggregate_order_by(
                    func.jsonb_build_array(attempt_answers.c.position, attempt_answers.c.selected),
                    attempt_answers.c.position,
                )
            ),
            literal_column("'[]'::jsonb"),
        )
    )
    .where(attempt_answers.c.attempt_id == attempts.c.id)
    .scalar_subquery()
    .label("answers")
)

CHAINS = ChainSet(
    "exams",
    [
        ChainSpec(
            name=GRADED_ATTEMPTS,
            table=attempts,
            id=attempts.c.id,
            columns=(*attempts.c, _answers),
            order=(attempts.c.graded_at, attempts.c.id),
            member=attempts.c.status == "graded",
            institution=attempts.c.institution_id,
            region=attempts.c.region_code,
            description="every graded exam attempt with its answers and grade",
        )
    ],
    settings=ExamsSettings,
)
