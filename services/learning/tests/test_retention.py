"""An enrollment's hour ledger is kept until its latest entry plus the class's rulebook years (from
courses), dated on learning's enrollment, never on the chained entries."""

from __future__ import annotations

import uuid

import asyncpg

from training.common.v1 import common_pb2
from training_learning.retention import LEDGER_DATING
from training_runtime.retention import date_enrollments

from .conftest import FACES, SAME_PERSON, study


async def test_the_ledger_is_kept_the_rulebook_years_after_its_latest_entry(  # type: ignore[no-untyped-def]
    learner, campus, learning_app, learning_database
) -> None:
    opened = await campus.open_class(qualification=common_pb2.QUALIFICATION_TYPE_SPECIAL_OPERATION)
    me = await learner(opened=opened)
    player = await me.start()
    await study(player, until=30)
    await player.end(FACES[SAME_PERSON])
    async with learning_app.context.uow.begin() as tx:
        await date_enrollments(tx.session, LEDGER_DATING)
    conn = await asyncpg.connect(learning_database)
    try:
        row = await conn.fetchrow(
            "SELECT e.retention_years, e.retention_until, max(l.recorded_at) AS last"
            " FROM enrollments e JOIN ledger_entries l ON l.enrollment_id = e.id WHERE e.id = $1"
            " GROUP BY e.retention_years, e.retention_until",
            uuid.UUID(me.enrollment_id),
        )
    finally:
        await conn.close()
    assert row["retention_years"] == 6  # special operations, in the test rulebook as in the default
    assert row["retention_until"] == row["last"].replace(year=row["last"].year + 6)
