"""An enrollment's exam attempts are kept until the latest one's last change plus the class's
rulebook years (from courses), dated on exams' enrollment, never on the chained attempt rows."""

from __future__ import annotations

import uuid

import asyncpg

from training.exams.v1 import exams_events_pb2 as ev
from training_exams.retention import ATTEMPT_DATING
from training_runtime.retention import date_enrollments
from training_testkit import wait_until


async def test_attempts_are_kept_the_rulebook_years_after_the_latest_change(  # type: ignore[no-untyped-def]
    exam_office, exams_app, exams_database
) -> None:
    where = await exam_office.exam_class()  # a safety manager class: 3 years
    exam = await exam_office.define(where, ev.EXAM_KIND_MOCK)
    trainee, enrollment_id = await exam_office.enrolled(where)
    started = await exam_office.start(trainee, exam)
    await exam_office.submit(trainee, started.attempt.attempt_id)
    conn = await asyncpg.connect(exams_database)
    try:

        async def graded() -> bool:
            return bool(
                await conn.fetchval(
                    "SELECT count(*) FROM attempts WHERE id = $1 AND graded_at IS NOT NULL",
                    uuid.UUID(started.attempt.attempt_id),
                )
            )

        await wait_until(graded, what="the attempt to be graded")
        async with exams_app.context.uow.begin() as tx:
            await date_enrollments(tx.session, ATTEMPT_DATING)
        row = await conn.fetchrow(
            "SELECT e.retention_years, e.retention_until,"
            " greatest(a.started_at, a.submitted_at, a.graded_at) AS last"
            " FROM enrollments e JOIN attempts a ON a.enrollment_id = e.id WHERE e.id = $1",
            uuid.UUID(enrollment_id),
        )
    finally:
        await conn.close()
    assert row["retention_years"] == 3
    assert row["retention_until"] == row["last"].replace(year=row["last"].year + 3)
