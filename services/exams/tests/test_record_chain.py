"""Graded attempts are chained with their answers (docs/records.md): changing a grade, an answer, or
slipping in a graded attempt is named by VerifyChain and the verify command."""

from __future__ import annotations

import asyncpg

from training.exams.v1 import exams_events_pb2 as ev
from training.records.v1 import records_pb2 as rpb
from training.records.v1 import records_pb2_grpc
from training_exams.chains import CHAINS, GRADED_ATTEMPTS
from training_records.testing import ChainTamper, assert_tampering_named, chain_verifier

from .conftest import answer_all


async def test_tampering_with_graded_attempts_is_named(exam_office, exams_channel, exams_database, people) -> None:  # type: ignore[no-untyped-def]
    where = await exam_office.exam_class()
    exam = await exam_office.define(where, ev.EXAM_KIND_MOCK)
    for _ in range(2):
        trainee, _ = await exam_office.enrolled(where)
        started = await exam_office.start(trainee, exam)
        await answer_all(exam_office, trainee, started, lambda q: [0])
        await exam_office.submit(trainee, started.attempt.attempt_id)
    stub = records_pb2_grpc.RecordChainServiceStub(exams_channel)

    verify = chain_verifier(stub, people.operator.metadata)

    tamper = ChainTamper(exams_database, CHAINS)
    await assert_tampering_named(
        tamper,
        verify,
        service="exams",
        chain=GRADED_ATTEMPTS,
        env_prefix="EXAMS_",
        edit="score = max_points, passed = true",
        clone={"number": "number + 100"},
    )
    # An answer changed after grading breaks the attempt's digest too.
    last = await tamper.length(GRADED_ATTEMPTS)
    record = await tamper.record_at(GRADED_ATTEMPTS, last)
    conn = await asyncpg.connect(tamper.url)
    change = "UPDATE attempt_answers SET selected = $2 WHERE attempt_id = $1::uuid AND position = 0"
    try:
        await conn.execute(change, record, [1])
        result = await verify(GRADED_ATTEMPTS)
        assert (result.first_break.problem, result.first_break.position, result.first_break.record_id) == (
            rpb.CHAIN_PROBLEM_EDITED,
            last,
            record,
        )
    finally:
        await conn.execute(change, record, [0])
        await conn.close()
    assert (await verify(GRADED_ATTEMPTS)).intact
