"""Snapshots of a service's database, to prove a failed call wrote nothing.

A snapshot holds, for every table of the database, its row count and a cheap content hash over each
row's physical identity and writing transaction (`ctid`, `xmin`): any insert, update or delete
changes it, without reading the rows' contents. The outbox is hashed over its event ids instead,
because the relay marks rows published in the background; a failed call must not add one.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from training_testkit import wait_until

Snapshot = dict[str, tuple[int, str]]
# Columns the relay updates after the fact: the outbox is compared by the events it holds.
_BY_IDENTITY = {"outbox": "event_id::text"}
_SNAPSHOT = (
    "SELECT '{table}' AS name, count(*) AS rows,"
    ' coalesce(sum(hashtextextended({identity}, 0)), 0)::text AS hash FROM "{table}"'
)


@dataclass
class DatabaseState:
    connection: asyncpg.Connection
    query: str

    @classmethod
    async def open(cls, url: str, *, ignore: set[str] | None = None) -> DatabaseState:
        """Snapshots of every table of the database at `url` but those in `ignore`."""
        connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        tables = [
            row["table_name"]
            for row in await connection.fetch(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'alembic_version'"
                " ORDER BY table_name"
            )
            if row["table_name"] not in (ignore or set())
        ]
        # Table names come from the catalogue, never from input.
        parts = [
            _SNAPSHOT.format(table=table, identity=_BY_IDENTITY.get(table, "ctid::text || xmin::text"))
            for table in tables
        ]
        return cls(connection, " UNION ALL ".join(parts))

    async def snapshot(self) -> Snapshot:
        return {row["name"]: (row["rows"], row["hash"]) for row in await self.connection.fetch(self.query)}

    async def settled(self) -> Snapshot:
        """A snapshot once two in a row agree (the background work that was under way has finished)."""
        seen = [await self.snapshot()]

        async def unchanged() -> Snapshot | None:
            seen.append(await self.snapshot())
            return seen[-1] if seen[-1] == seen[-2] else None

        return await wait_until(unchanged, interval=0.05, what="the database to settle")

    async def close(self) -> None:
        await self.connection.close()


def changed(before: Snapshot, after: Snapshot) -> dict[str, str]:
    """{table: what changed} between two snapshots."""
    found: dict[str, str] = {}
    for table in sorted(set(before) | set(after)):
        old, new = before.get(table, (0, "")), after.get(table, (0, ""))
        if old != new:
            found[table] = f"{old[0]} -> {new[0]} rows" if old[0] != new[0] else "rows rewritten"
    return found
