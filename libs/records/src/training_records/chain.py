"""A chain's definition (`ChainSpec`) and appending links in the transaction that inserts the records.

Appends to one chain are serialised by a row lock on the chain's head row (`SELECT ... FOR UPDATE`),
held until the inserting transaction commits, so positions are gap-free and every link follows the one
committed before it. The record digest is computed from the row as read back inside the transaction,
so it always matches what a later reader of the same row sees.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, literal, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from training_records.digest import ZERO_HASH, link_hash, record_digest
from training_records.tables import RecordTables, record_tables


@dataclass(frozen=True)
class ChainSpec:
    """One chain: which rows of which table it links and which of their columns it hashes.

    `columns` are the hashed values (table columns or labelled expressions over the row, such as a
    digest of child rows); they must include the id column and hold no personal data that retention
    erases (docs/records.md lists each chain's columns). `member` selects the rows that belong in the
    chain (all rows when None): a row that matches it without a link is reported as INSERTED. `order`
    is the rows' own order, used for existing rows at migration time and to place an unlinked row.
    `institution` and `region` are expressions over the row for scoping GetChainLinks.
    """

    name: str
    table: Table
    id: ColumnElement[Any]
    columns: tuple[ColumnElement[Any], ...]
    order: tuple[ColumnElement[Any], ...]
    member: ColumnElement[bool] | None = None
    institution: ColumnElement[Any] | None = None
    region: ColumnElement[Any] | None = None
    description: str = ""
    _names: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = tuple(c.name for c in self.columns)  # type: ignore[attr-defined]
        if len(set(names)) != len(names):
            raise ValueError(f"chain {self.name}: hashed columns must have distinct names")
        if self.id.name not in names:  # type: ignore[attr-defined]
            raise ValueError(f"chain {self.name}: the id column must be hashed")
        object.__setattr__(self, "_names", names)

    @property
    def column_names(self) -> tuple[str, ...]:
        return self._names

    def digest(self, row: Any) -> str:
        """The record digest of a row selected with `self.columns`."""
        mapping = row._mapping if hasattr(row, "_mapping") else row
        return record_digest({name: mapping[name] for name in self._names})

    def rows_by_id(self, ids: Iterable[Any]) -> Any:
        return select(*self.columns).where(self.id.in_(list(ids)))

    def members(self) -> Any:
        query = select(*self.columns)
        return query.where(self.member) if self.member is not None else query


@dataclass(frozen=True)
class NewLink:
    chain: str
    position: int
    record_id: str
    record_digest: str
    previous_hash: str
    link_hash: str
    appended_at: datetime


class ChainSet:
    """The chains of one service, on the service's metadata (which gains the chain tables)."""

    def __init__(self, service: str, chains: Sequence[ChainSpec], *, settings: type[Any] | None = None) -> None:
        self.service = service
        # The service's settings class: the verify command reads the database URL with its prefix.
        self.settings = settings
        self.chains = {c.name: c for c in chains}
        if len(self.chains) != len(chains):
            raise ValueError("chain names must be distinct")
        metadata = chains[0].table.metadata
        self.tables: RecordTables = record_tables(metadata)

    def __getitem__(self, name: str) -> ChainSpec:
        return self.chains[name]

    def __iter__(self) -> Any:
        return iter(self.chains.values())


def _plan(
    spec: ChainSpec, rows: Sequence[Any], *, length: int, head_hash: str, head_at: datetime | None, now: datetime
) -> list[NewLink]:
    appended_at = max(now, head_at) if head_at is not None else now  # never earlier than the link before
    links: list[NewLink] = []
    previous = head_hash
    for offset, row in enumerate(rows, start=1):
        digest = spec.digest(row)
        position = length + offset
        current = link_hash(previous, digest, position)
        links.append(
            NewLink(spec.name, position, str(row._mapping[spec.id.name]), digest, previous, current, appended_at)
        )
        previous = current
    return links


def _ordered(spec: ChainSpec, rows: Sequence[Any], record_ids: Sequence[Any]) -> list[Any]:
    by_id = {str(r._mapping[spec.id.name]): r for r in rows}
    missing = [str(i) for i in record_ids if str(i) not in by_id]
    if missing:
        raise LookupError(f"chain {spec.name}: no rows {missing[:5]} to append")
    return [by_id[str(i)] for i in record_ids]


def _lock(tables: RecordTables, chain: str) -> Any:
    h = tables.heads
    return select(h.c.length, h.c.head_hash, h.c.head_at).where(h.c.chain == chain).with_for_update()


def _store(tables: RecordTables, links: list[NewLink]) -> tuple[Any, list[dict[str, Any]], Any]:
    last = links[-1]
    values = [
        {
            "chain": link.chain,
            "position": link.position,
            "record_id": link.record_id,
            "record_digest": link.record_digest,
            "previous_hash": link.previous_hash,
            "link_hash": link.link_hash,
            "appended_at": link.appended_at,
        }
        for link in links
    ]
    head = (
        update(tables.heads)
        .where(tables.heads.c.chain == last.chain)
        .values(length=last.position, head_hash=last.link_hash, head_at=last.appended_at)
    )
    return tables.links.insert(), values, head


class ChainNotSetUp(RuntimeError):
    """The chain has no head row: its migration has not run."""


# Lock the head, chain the new digests onto it, store the links and move the head: one statement,
# so the head row stays locked for one round trip plus the commit. The link hashes are computed by
# PostgreSQL here (sha256 over previous hash, digest and the 8-byte big-endian position, exactly as
# digest.link_hash) and recomputed in Python by the verifier.
_APPEND = text(
    """
WITH RECURSIVE
head AS (
  SELECT length, head_hash, head_at FROM record_chain_heads WHERE chain = :chain FOR UPDATE
),
new AS (
  SELECT t.record_id, t.digest, t.ord
  FROM unnest(CAST(:record_ids AS text[]), CAST(:digests AS text[])) WITH ORDINALITY AS t(record_id, digest, ord)
),
chained AS (
  SELECT n.ord, n.record_id, n.digest, h.length + 1 AS position, h.head_hash AS previous,
         encode(sha256(decode(h.head_hash, 'hex') || decode(n.digest, 'hex') || int8send(h.length + 1)), 'hex') AS hash
  FROM new n CROSS JOIN head h WHERE n.ord = 1
  UNION ALL
  SELECT n.ord, n.record_id, n.digest, c.position + 1, c.hash,
         encode(sha256(decode(c.hash, 'hex') || decode(n.digest, 'hex') || int8send(c.position + 1)), 'hex')
  FROM chained c JOIN new n ON n.ord = c.ord + 1
),
stamp AS (
  SELECT greatest(CAST(:now AS timestamptz), coalesce((SELECT head_at FROM head), CAST(:now AS timestamptz))) AS at
),
inserted AS (
  INSERT INTO record_links (chain, position, record_id, record_digest, previous_hash, link_hash, appended_at)
  SELECT :chain, position, record_id, digest, previous, hash, (SELECT at FROM stamp) FROM chained
  RETURNING position, record_id, record_digest, previous_hash, link_hash, appended_at
),
moved AS (
  UPDATE record_chain_heads
  SET length = last.position, head_hash = last.hash, head_at = (SELECT at FROM stamp)
  FROM (SELECT position, hash FROM chained ORDER BY ord DESC LIMIT 1) AS last
  WHERE record_chain_heads.chain = :chain
  RETURNING 1
)
SELECT position, record_id, record_digest, previous_hash, link_hash, appended_at,
       (SELECT count(*) FROM moved) AS moved
FROM inserted ORDER BY position
"""
)


async def lock_chain(session: AsyncConnection, chains: ChainSet, chain: str) -> None:
    """Take `chain`'s append lock now (held to commit). A transaction that locks rows an appending
    transaction may wait on (progress counters, say) takes the chain first, so the two cannot deadlock."""
    if (await session.execute(_lock(chains.tables, chain))).one_or_none() is None:
        raise ChainNotSetUp(f"chain {chain} has no head row; run the service's migrations")


async def append(
    session: AsyncConnection, chains: ChainSet, chain: str, record_ids: Sequence[Any], *, now: datetime
) -> list[NewLink]:
    """Link the rows `record_ids` (already inserted in this transaction) to `chain`, in that order.

    The rows are read back and digested before the chain is locked; the lock is then held only for
    the one statement that appends, and until commit: append last in a transaction where you can.
    """
    if not record_ids:
        return []
    spec = chains[chain]
    rows = _ordered(spec, (await session.execute(spec.rows_by_id(record_ids))).all(), record_ids)
    ids = [str(r._mapping[spec.id.name]) for r in rows]
    digests = [spec.digest(r) for r in rows]
    result = (await session.execute(_APPEND, {"chain": chain, "record_ids": ids, "digests": digests, "now": now})).all()
    if not result:
        raise ChainNotSetUp(f"chain {chain} has no head row; run the service's migrations")
    assert result[0].moved == 1
    return [
        NewLink(chain, r.position, r.record_id, r.record_digest, r.previous_hash, r.link_hash, r.appended_at)
        for r in result
    ]


def append_sync(
    connection: Connection, chains: ChainSet, chain: str, rows: Sequence[Any], *, now: datetime
) -> list[NewLink]:
    """`append` for migrations (a synchronous connection), given rows already selected with the chain's columns."""
    if not rows:
        return []
    head = connection.execute(_lock(chains.tables, chain)).one()
    links = _plan(chains[chain], rows, length=head.length, head_hash=head.head_hash, head_at=head.head_at, now=now)
    insert, values, head_update = _store(chains.tables, links)
    connection.execute(insert, values)
    connection.execute(head_update)
    return links


def unlinked(spec: ChainSpec, tables: RecordTables) -> Any:
    """Member rows of `spec` with no link, in the rows' own order."""
    links = tables.links
    has_link = (
        select(literal(1))
        .where(and_(links.c.chain == spec.name, links.c.record_id == spec.id.cast(links.c.record_id.type)))
        .exists()
    )
    return spec.members().where(~has_link).order_by(*spec.order)


def new_head_row(chain: str) -> dict[str, Any]:
    return {"chain": chain, "length": 0, "head_hash": ZERO_HASH, "head_at": None}
