"""The chain itself on a table of its own in real PostgreSQL: the canonical digest, gap-free
positions under concurrent appends, heads as of a day's end, existing rows linked at migration time,
a missing tail caught against the head row, and progress on long chains."""

from __future__ import annotations

import asyncio
import io
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import pytest_asyncio
from sqlalchemy import BigInteger, Column, DateTime, Double, Identity, LargeBinary, MetaData, Table, Text, Uuid, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from training_records import ChainSet, ChainSpec, Problem, append, canonical_json, heads_at, record_digest, verify_chain
from training_records.chain import new_head_row
from training_records.cli import _Progress
from training_records.digest import ZERO_HASH, link_hash
from training_records.heads import CHINA, current_heads, day_end
from training_records.migration import link_existing

metadata = MetaData()
notes = Table(
    "notes",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("seq", BigInteger, Identity(always=True), nullable=False),
    Column("body", Text, nullable=False),
    Column("amount", Double),
    Column("extra", JSONB),
    Column("blob", LargeBinary),
    Column("at", DateTime(timezone=True), nullable=False),
)
NOTES = "test.notes"
CHAINS = ChainSet(
    "test", [ChainSpec(name=NOTES, table=notes, id=notes.c.id, columns=tuple(notes.c), order=(notes.c.seq,))]
)


@pytest_asyncio.fixture(loop_scope="session")
async def engine(test_databases) -> AsyncEngine:  # type: ignore[no-untyped-def]
    url = (await test_databases.create("records")).replace("postgresql://", "postgresql+asyncpg://")
    engine = create_async_engine(url, pool_size=12)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(CHAINS.tables.heads.insert(), [new_head_row(NOTES)])
    yield engine
    await engine.dispose()


async def add(engine: AsyncEngine, n: int = 1, *, now: datetime | None = None, body: str = "note") -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(n)]
    now = now or datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(
            notes.insert(),
            [
                {
                    "id": i,
                    "body": body,
                    "amount": 0.1 + k,
                    "extra": {"b": [1, 2.5], "a": "甲"},
                    "blob": b"\x00\xff",
                    "at": now,
                }
                for k, i in enumerate(ids)
            ],
        )
        await append(conn, CHAINS, NOTES, ids, now=now)
    return ids


def test_the_digest_is_canonical_json_of_the_hashed_columns() -> None:
    at = datetime(2026, 11, 29, 20, 0, tzinfo=CHINA)
    values = {"id": uuid.UUID(int=1), "at": at, "n": 0.1, "blob": b"x", "j": {"b": 1, "a": None}, "d": date(2026, 1, 2)}
    assert canonical_json(values) == (
        b'{"at":"2026-11-29T12:00:00.000000Z","blob":"sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881",'
        b'"d":"2026-01-02","id":"00000000-0000-0000-0000-000000000001","j":{"a":null,"b":1},"n":0.1}'
    )
    digest = record_digest(values)
    assert link_hash(ZERO_HASH, digest, 1) != link_hash(ZERO_HASH, digest, 2)
    with pytest.raises(ValueError):
        canonical_json({"at": datetime(2026, 1, 1)})


async def test_concurrent_appends_keep_positions_gap_free_and_the_chain_intact(engine) -> None:  # type: ignore[no-untyped-def]
    await asyncio.gather(*(add(engine, 3) for _ in range(20)))
    async with engine.connect() as conn:
        positions = [r[0] for r in await conn.execute(select(CHAINS.tables.links.c.position).order_by("position"))]
        result = await verify_chain(conn, CHAINS, NOTES)
        (head,) = await current_heads(conn, CHAINS)
    assert positions == list(range(1, 61))
    assert result.intact, result.first_break
    assert (result.links_checked, result.head_hash) == (60, head.head_hash)
    assert head.length == 60


async def test_heads_as_of_a_day_end_in_china_time(engine) -> None:  # type: ignore[no-untyped-def]
    day = date(2026, 3, 1)
    late = day_end(day) - timedelta(seconds=1)
    await add(engine, 2, now=late - timedelta(hours=1))
    await add(engine, 1, now=late)
    await add(engine, 2, now=day_end(day))  # the next day's first instant
    async with engine.connect() as conn:
        (at_end,) = await heads_at(conn, CHAINS, day_end(day))
        (before,) = await heads_at(conn, CHAINS, day_end(day - timedelta(days=1)))
        (now,) = await current_heads(conn, CHAINS)
        third = (
            await conn.execute(select(CHAINS.tables.links.c.link_hash).where(CHAINS.tables.links.c.position == 3))
        ).scalar_one()
    assert (before.length, before.head_hash) == (0, ZERO_HASH)
    assert (at_end.length, at_end.head_hash) == (3, third)
    assert now.length == 5
    # A link is never earlier than the one before it, even when the clock steps back.
    await add(engine, 1, now=late - timedelta(days=3))
    async with engine.connect() as conn:
        (again,) = await heads_at(conn, CHAINS, day_end(day))
    assert again.length == 3


async def test_existing_rows_are_linked_in_their_own_order_and_a_lost_tail_is_missing(engine) -> None:  # type: ignore[no-untyped-def]
    async with engine.begin() as conn:
        await conn.execute(
            notes.insert(),
            [{"id": uuid.uuid4(), "body": f"old {k}", "at": datetime.now(UTC)} for k in range(5)],
        )
    async with engine.connect() as conn:
        assert (await verify_chain(conn, CHAINS, NOTES)).first_break.problem is Problem.INSERTED
    async with engine.begin() as conn:
        assert await conn.run_sync(lambda sync: link_existing(sync, CHAINS, NOTES, datetime.now(UTC))) == 5
    ids = await add(engine, 2)
    async with engine.connect() as conn:
        assert (await verify_chain(conn, CHAINS, NOTES)).intact
    async with engine.begin() as conn:
        # The last link and its row both gone (an operator dropping the tail): the head row still counts 7.
        await conn.execute(CHAINS.tables.links.delete().where(CHAINS.tables.links.c.record_id == str(ids[-1])))
        await conn.execute(notes.delete().where(notes.c.id == ids[-1]))
    async with engine.connect() as conn:
        result = await verify_chain(conn, CHAINS, NOTES)
    assert (result.first_break.problem, result.first_break.position, result.links_checked) == (Problem.MISSING, 7, 6)


async def test_long_chains_report_progress(engine) -> None:  # type: ignore[no-untyped-def]
    await add(engine, 25)
    out = io.StringIO()
    async with engine.connect() as conn:
        result = await verify_chain(conn, CHAINS, NOTES, progress=_Progress(out, every=0), batch=10)
    assert result.intact
    assert out.getvalue().splitlines() == [f"{NOTES}: {n} links checked ..." for n in (10, 20, 25)]


async def test_an_unlinked_row_is_named_where_its_own_order_puts_it(engine) -> None:  # type: ignore[no-untyped-def]
    await add(engine, 4)
    forged = uuid.uuid4()
    async with engine.begin() as conn:
        # Backdated: a sequence number before every row's (an identity column can be overridden).
        await conn.exec_driver_sql(
            "INSERT INTO notes (id, seq, body, at) OVERRIDING SYSTEM VALUE VALUES ($1, 0, 'forged', now())", (forged,)
        )
    async with engine.connect() as conn:
        result = await verify_chain(conn, CHAINS, NOTES)
    assert (result.first_break.problem, result.first_break.position, result.first_break.record_id) == (
        Problem.INSERTED,
        1,
        str(forged),
    )
    assert result.links_checked == 0
