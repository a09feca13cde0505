"""Tampering with a chained table the way someone with database access would, for tests: edit a
hashed column, delete a row, swap two links' positions or record ids, insert a row without a link.
Each tamper is undone when its context ends. Triggers are bypassed (session_replication_role =
replica), as an attacker with superuser access could.

`assert_tampering_named` runs every tamper against a service's chain and checks that VerifyChain and
`python -m training_records verify` both name the problem, the position and the record id.
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy.dialects import postgresql

from training.records.v1 import records_pb2
from training_records.chain import ChainSet
from training_records.cli import main


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class ChainTamper:
    def __init__(self, url: str, chains: ChainSet) -> None:
        self.url = url.replace("postgresql+asyncpg://", "postgresql://")
        self.chains = chains

    @asynccontextmanager
    async def _attacker(self) -> AsyncIterator[asyncpg.Connection]:
        conn = await asyncpg.connect(self.url)
        try:
            await conn.execute("SET session_replication_role = replica")
            yield conn
        finally:
            await conn.close()

    async def length(self, chain: str) -> int:
        conn = await asyncpg.connect(self.url)
        try:
            return await conn.fetchval("SELECT count(*) FROM record_links WHERE chain = $1", chain)
        finally:
            await conn.close()

    async def record_at(self, chain: str, position: int) -> str:
        conn = await asyncpg.connect(self.url)
        try:
            record = await conn.fetchval(
                "SELECT record_id FROM record_links WHERE chain = $1 AND position = $2", chain, position
            )
        finally:
            await conn.close()
        assert record is not None, f"{chain} has no link at {position}"
        return record

    def _where(self, chain: str) -> tuple[str, str]:
        spec = self.chains[chain]
        return _q(spec.table.name), f"{_q(spec.id.name)}::text = $1"  # type: ignore[attr-defined]

    @asynccontextmanager
    async def edited(self, chain: str, position: int, assignment: str) -> AsyncIterator[str]:
        """`UPDATE <table> SET <assignment>` on the row at `position`; yields its record id."""
        record = await self.record_at(chain, position)
        table, where = self._where(chain)
        async with self._attacker() as conn:
            saved = await conn.fetchval(f"SELECT row_to_json(t)::text FROM {table} t WHERE {where}", record)
            assert saved is not None
            status = await conn.execute(f"UPDATE {table} SET {assignment} WHERE {where}", record)
            assert status == "UPDATE 1", status
            try:
                yield record
            finally:
                await conn.execute(f"DELETE FROM {table} WHERE {where}", record)
                await self._restore(conn, table, saved)

    @asynccontextmanager
    async def deleted(self, chain: str, position: int) -> AsyncIterator[str]:
        record = await self.record_at(chain, position)
        table, where = self._where(chain)
        async with self._attacker() as conn:
            saved = await conn.fetchval(f"SELECT row_to_json(t)::text FROM {table} t WHERE {where}", record)
            assert saved is not None
            await conn.execute(f"DELETE FROM {table} WHERE {where}", record)
            try:
                yield record
            finally:
                await self._restore(conn, table, saved)

    @staticmethod
    async def _restore(conn: asyncpg.Connection, table: str, saved: str) -> None:
        await conn.execute(
            f"INSERT INTO {table} OVERRIDING SYSTEM VALUE SELECT * FROM json_populate_record(NULL::{table}, $1::json)",
            saved,
        )

    @asynccontextmanager
    async def swapped(self, chain: str, position: int, column: str) -> AsyncIterator[str]:
        """Swap `column` ("position" or "record_id") of the links at `position` and `position + 1`;
        yields the record id that now stands at `position`."""
        later = await self.record_at(chain, position + 1)
        async with self._attacker() as conn:
            await self._swap(conn, chain, position, column)
            try:
                yield later
            finally:
                await self._swap(conn, chain, position, column)

    @staticmethod
    async def _swap(conn: asyncpg.Connection, chain: str, position: int, column: str) -> None:
        async with conn.transaction():
            if column == "position":
                await conn.execute(
                    "UPDATE record_links SET position = -position WHERE chain = $1 AND position IN ($2::bigint, $2::bigint + 1)",
                    chain,
                    position,
                )
                await conn.execute(
                    "UPDATE record_links SET position = CASE position WHEN -$2::bigint THEN $2::bigint + 1 ELSE $2::bigint END "
                    "WHERE chain = $1 AND position IN (-$2::bigint, -$2::bigint - 1)",
                    chain,
                    position,
                )
            else:
                await conn.execute(
                    "UPDATE record_links l SET record_id = o.record_id || '~' FROM record_links o "
                    "WHERE l.chain = $1 AND o.chain = $1 AND l.position IN ($2::bigint, $2::bigint + 1) "
                    "AND o.position = CASE l.position WHEN $2::bigint THEN $2::bigint + 1 ELSE $2::bigint END",
                    chain,
                    position,
                )
                await conn.execute(
                    "UPDATE record_links SET record_id = rtrim(record_id, '~') WHERE chain = $1 AND position IN ($2::bigint, $2::bigint + 1)",
                    chain,
                    position,
                )

    @asynccontextmanager
    async def inserted(self, chain: str, position: int, changes: Mapping[str, str | None]) -> AsyncIterator[str]:
        """A copy of the row at `position` with a new id and no link. `changes` maps columns to SQL
        expressions over the original (None leaves a column to its default, e.g. an identity)."""
        record = await self.record_at(chain, position)
        spec = self.chains[chain]
        table, where = self._where(chain)
        new_id = str(uuid.uuid4())
        targets, values = [], []
        for column in spec.table.columns:
            if column.name == spec.id.name:  # type: ignore[attr-defined]
                targets.append(_q(column.name))
                values.append(f"'{new_id}'::{column.type.compile(dialect=postgresql.dialect())}")
                continue
            if column.name in changes and changes[column.name] is None:
                continue
            targets.append(_q(column.name))
            values.append(changes.get(column.name) or _q(column.name))
        async with self._attacker() as conn:
            await conn.execute(
                f"INSERT INTO {table} ({', '.join(targets)}) SELECT {', '.join(values)} FROM {table} WHERE {where}",
                record,
            )
            try:
                yield new_id
            finally:
                await conn.execute(f"DELETE FROM {table} WHERE {_q(spec.id.name)}::text = $1", new_id)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Named:
    problem: int
    position: int
    record_id: str


VerifyRpc = Callable[[str], Awaitable[records_pb2.ChainVerification]]


def chain_verifier(stub: Any, metadata: Sequence[tuple[str, str]]) -> VerifyRpc:
    """`verify(chain)` for `assert_tampering_named`: one chain's VerifyChain answer, asked as `metadata`."""

    async def verify(chain: str) -> records_pb2.ChainVerification:
        response = await stub.VerifyChain(records_pb2.VerifyChainRequest(chain=chain), metadata=metadata)
        return response.chains[0]

    return verify


async def run_command(service: str, chain: str, env: Mapping[str, str]) -> tuple[int, str]:
    """`python -m training_records verify --service S --chain C` as a process; (exit status, output)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "training_records",
        "verify",
        "--service",
        service,
        "--chain",
        chain,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode or 0, out.decode() + err.decode()


async def run_command_here(service: str, chain: str, database_url: str) -> tuple[int, str]:
    """The same command's `main` in this process (no interpreter start-up), with --database-url."""
    out = io.StringIO()
    argv = ["verify", "--service", service, "--chain", chain, "--database-url", database_url]
    status = await asyncio.to_thread(main, argv, out=out, err=out)
    return status, out.getvalue()


async def assert_named(
    verify: VerifyRpc, service: str, chain: str, database_url: str, expected: Named, *, command: bool = True
) -> None:
    result = await verify(chain)
    assert not result.intact, f"{chain}: tampering went unnoticed"
    found = Named(result.first_break.problem, result.first_break.position, result.first_break.record_id)
    assert found == expected, f"{chain}: {result.first_break}"
    if command:
        status, output = await run_command_here(service, chain, database_url)
        name = records_pb2.ChainProblem.Name(expected.problem).removeprefix("CHAIN_PROBLEM_")
        record = f" record {expected.record_id}" if expected.record_id else ""
        assert status == 1, output
        assert f"{chain}: BROKEN at position {expected.position}{record}: {name}" in output, output


async def assert_tampering_named(
    tamper: ChainTamper,
    verify: VerifyRpc,
    *,
    service: str,
    chain: str,
    env_prefix: str,
    edit: str,
    clone: Mapping[str, str | None] | None = None,
) -> None:
    """Edit, delete, reorder (positions, then record ids) and insert on `chain`; each must be named
    by VerifyChain and the command, and the chain must verify again once each tamper is undone."""
    pb = records_pb2
    length = await tamper.length(chain)
    assert length >= 2, f"{chain} needs two links for this check, has {length}"
    intact = await verify(chain)
    assert intact.intact, f"{chain} is broken before tampering: {intact.first_break}"
    # Once as operators run it: a process reading the service's own database setting.
    status, output = await run_command(service, chain, {f"{env_prefix}DATABASE_URL": tamper.url})
    assert status == 0, output
    assert f"{chain}: intact" in output, output
    p = length - 1
    async with tamper.edited(chain, p, edit) as record:
        await assert_named(verify, service, chain, tamper.url, Named(pb.CHAIN_PROBLEM_EDITED, p, record))
    async with tamper.deleted(chain, p) as record:
        await assert_named(verify, service, chain, tamper.url, Named(pb.CHAIN_PROBLEM_MISSING, p, record))
    async with tamper.swapped(chain, p, "position") as record:
        await assert_named(verify, service, chain, tamper.url, Named(pb.CHAIN_PROBLEM_REORDERED, p, record))
    async with tamper.swapped(chain, p, "record_id") as record:
        await assert_named(
            verify, service, chain, tamper.url, Named(pb.CHAIN_PROBLEM_REORDERED, p, record), command=False
        )
    async with tamper.inserted(chain, length, clone or {}) as record:
        result = await verify(chain)
        assert not result.intact, result
        assert result.first_break.problem == pb.CHAIN_PROBLEM_INSERTED, result
        assert result.first_break.record_id == record
        # Placed by the table's own order (with a test clock that moves both ways, anywhere).
        assert 1 <= result.first_break.position <= length + 1, result
        await assert_named(
            verify, service, chain, tamper.url, Named(pb.CHAIN_PROBLEM_INSERTED, result.first_break.position, record)
        )
    after = await verify(chain)
    assert after.intact, f"{chain} does not verify after the tampering was undone: {after.first_break}"
