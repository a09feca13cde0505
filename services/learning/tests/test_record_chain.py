"""The hour ledger's record chain (docs/records.md): every entry is linked as it is written; editing,
deleting, reordering or slipping in an entry is named by VerifyChain and by the verify command; only
the operator and regulators verify, institutions see links of their own entries, trainees nothing."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import grpc

from training.common.v1 import common_pb2 as R
from training.records.v1 import records_pb2 as rpb
from training.records.v1 import records_pb2_grpc
from training_learning.chains import CHAINS, LEDGER
from training_learning.service import MIGRATIONS
from training_records.testing import ChainTamper, assert_tampering_named, chain_verifier, run_command_here
from training_runtime.migrations import upgrade
from training_testkit.rpc import rpc_failure

from .conftest import FACES, SAME_PERSON, study


async def test_tampering_with_the_ledger_is_named_by_position_and_entry(
    learner, learning_channel, learning_database, people
) -> None:
    me = await learner()
    for lesson in (0, 1):
        player = await me.start(lesson)
        await study(player, until=30)
        await player.end(FACES[SAME_PERSON])
    stub = records_pb2_grpc.RecordChainServiceStub(learning_channel)

    verify = chain_verifier(stub, people.operator.metadata)

    await assert_tampering_named(
        ChainTamper(learning_database, CHAINS),
        verify,
        service="learning",
        chain=LEDGER,
        env_prefix="LEARNING_",
        edit="credited_seconds = credited_seconds + 60",
        clone={"sequence": None},
    )


async def test_chain_links_are_scoped_and_trainees_are_refused(learner, learning_channel, people) -> None:
    me = await learner()
    player = await me.start()
    await study(player, until=20)
    await player.end(FACES[SAME_PERSON])
    entries = await me.entries()
    ids = [e.entry_id for e in entries]
    stub = records_pb2_grpc.RecordChainServiceStub(learning_channel)
    request = rpb.GetChainLinksRequest(chain=LEDGER, record_ids=ids)

    mine = await stub.GetChainLinks(request, metadata=me.opened.school.admin.metadata)
    assert sorted(link.record_id for link in mine.links) == sorted(ids)
    positions = [link.position for link in mine.links]
    assert positions == sorted(positions)
    heads = await stub.GetChainHeads(rpb.GetChainHeadsRequest(), metadata=me.opened.school.admin.metadata)
    assert heads.service == "learning"
    assert [h.chain for h in heads.heads] == [LEDGER]
    assert heads.heads[0].length >= max(positions)

    other_school = await people.account(
        R.ROLE_INSTITUTION_ADMIN, institution_id=(await people.institution()).institution_id
    )
    theirs = await stub.GetChainLinks(request, metadata=other_school.metadata)
    assert list(theirs.links) == []
    province = await people.account(R.ROLE_REGULATOR, region_code="440000")
    assert len((await stub.GetChainLinks(request, metadata=province.metadata)).links) == len(ids)
    beijing = await people.account(R.ROLE_REGULATOR, region_code="110000")
    assert list((await stub.GetChainLinks(request, metadata=beijing.metadata)).links) == []

    for call in (
        stub.VerifyChain(rpb.VerifyChainRequest(), metadata=me.person.metadata),
        stub.GetChainHeads(rpb.GetChainHeadsRequest(), metadata=me.person.metadata),
        stub.GetChainLinks(request, metadata=me.person.metadata),
        stub.VerifyChain(rpb.VerifyChainRequest(), metadata=me.opened.school.admin.metadata),
    ):
        await rpc_failure(call, grpc.StatusCode.PERMISSION_DENIED)

    unknown = await rpc_failure(
        stub.GetChainLinks(
            rpb.GetChainLinksRequest(chain="learning.nothing", record_ids=ids), metadata=people.operator.metadata
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert unknown.fields == ("chain",)
    bad_day = await rpc_failure(
        stub.GetChainHeads(rpb.GetChainHeadsRequest(day="29/11/2026"), metadata=people.operator.metadata),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert bad_day.fields == ("day",)


async def test_the_migration_links_the_entries_that_exist_in_ledger_order(test_databases) -> None:  # type: ignore[no-untyped-def]
    url = await test_databases.create("learning_chain")
    await asyncio.to_thread(upgrade, MIGRATIONS, url, revision="0001")
    ids = [uuid.uuid4() for _ in range(3)]
    conn = await asyncpg.connect(url)
    try:
        for entry_id in ids:
            await conn.execute(
                "INSERT INTO ledger_entries (id, kind, enrollment_id, trainee_id, credited_seconds,"
                " interval_seconds, reason, rulebook_version, recorded_at)"
                " VALUES ($1, 'CREDIT', $2, $2, 60, 60, 'VERIFIED', 'test-2026', now())",
                entry_id,
                uuid.uuid4(),
            )
        await asyncio.to_thread(upgrade, MIGRATIONS, url)
        linked = await conn.fetch("SELECT record_id FROM record_links WHERE chain = $1 ORDER BY position", LEDGER)
    finally:
        await conn.close()
    assert [r["record_id"] for r in linked] == [str(i) for i in ids]
    status, output = await run_command_here("learning", LEDGER, url)
    assert status == 0, output
    assert f"{LEDGER}: intact, 3 links" in output
