"""Recompute a chain from its first link and name the first problem (docs/records.md).

The verifier walks the links in position order in batches (the rows of each batch are joined to
their links in one query), so memory stays flat however long the chain. Then it checks the chain's
head row and looks for member rows that have no link at all. The first problem by position wins:

- EDITED: a row's content no longer matches the digest its link was made from, or a link's own hash
  does not match its fields;
- MISSING: a link's row is gone, a position has no link, or the head row counts more links than exist;
- INSERTED: a member row without a link, or a link that does not follow from the one before it;
- REORDERED: a link that follows some other link than the one before it, or a row whose content is
  the content another position's link was made from.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from training_records.chain import ChainSet, ChainSpec, unlinked
from training_records.digest import ZERO_HASH, link_hash

BATCH = 1000


class Problem(enum.Enum):
    EDITED = "EDITED"
    MISSING = "MISSING"
    INSERTED = "INSERTED"
    REORDERED = "REORDERED"


@dataclass(frozen=True)
class Break:
    position: int
    record_id: str
    problem: Problem
    detail: str


@dataclass(frozen=True)
class Verification:
    chain: str
    links_checked: int
    head_hash: str
    head_at: datetime | None
    first_break: Break | None

    @property
    def intact(self) -> bool:
        return self.first_break is None


Progress = Callable[[str, int], None]


def _batch_query(spec: ChainSpec, chains: ChainSet, after: int, limit: int) -> Any:
    links = chains.tables.links
    joined = links.outerjoin(spec.table, spec.id == links.c.record_id.cast(spec.id.type))
    return (
        select(
            links.c.position.label("link_position"),
            links.c.record_id.label("link_record_id"),
            links.c.record_digest.label("link_digest"),
            links.c.previous_hash.label("link_previous"),
            links.c.link_hash.label("link_stored_hash"),
            links.c.appended_at.label("link_appended_at"),
            (spec.id.is_not(None)).label("link_row_present"),
            *spec.columns,
        )
        .select_from(joined)
        .where(links.c.chain == spec.name, links.c.position > after)
        .order_by(links.c.position)
        .limit(limit)
    )


async def _position_where(session: AsyncConnection, chains: ChainSet, chain: str, column: str, value: str) -> Any:
    """The first position whose link has `column` = `value` (only asked at a break: no index needed)."""
    links = chains.tables.links
    query = select(links.c.position).where(links.c.chain == chain, links.c[column] == value).order_by(links.c.position)
    return (await session.execute(query.limit(1))).scalar_one_or_none()


async def _walk(
    session: AsyncConnection, chains: ChainSet, spec: ChainSpec, progress: Progress | None, batch: int
) -> tuple[int, str, datetime | None, Break | None]:
    checked, previous, head_at = 0, ZERO_HASH, None
    while True:
        rows = (await session.execute(_batch_query(spec, chains, checked, batch))).all()
        for row in rows:
            expected = checked + 1
            if row.link_position != expected:
                return (
                    checked,
                    previous,
                    head_at,
                    Break(
                        expected,
                        "",
                        Problem.MISSING,
                        f"no link at position {expected}; the chain resumes at {row.link_position}",
                    ),
                )
            found = await _check_link(session, chains, spec, row, previous)
            if found is not None:
                return checked, previous, head_at, found
            checked, previous, head_at = expected, row.link_stored_hash, row.link_appended_at
        if progress is not None and rows:
            progress(spec.name, checked)
        if len(rows) < batch:
            return checked, previous, head_at, None


async def _check_link(
    session: AsyncConnection, chains: ChainSet, spec: ChainSpec, row: Any, previous: str
) -> Break | None:
    position, record_id = row.link_position, row.link_record_id
    if row.link_previous != previous:
        elsewhere = await _position_where(session, chains, spec.name, "link_hash", row.link_previous)
        if elsewhere is not None:
            return Break(
                position, record_id, Problem.REORDERED, f"the link follows position {elsewhere}, not {position - 1}"
            )
        return Break(position, record_id, Problem.INSERTED, "the link does not follow from the link before it")
    if link_hash(previous, row.link_digest, position) != row.link_stored_hash:
        return Break(position, record_id, Problem.EDITED, "the link's hash does not match its digest and position")
    if not row.link_row_present:
        return Break(position, record_id, Problem.MISSING, f"record {record_id} is gone from {spec.table.name}")
    digest = spec.digest(row)
    if digest != row.link_digest:
        elsewhere = await _position_where(session, chains, spec.name, "record_digest", digest)
        if elsewhere is not None and elsewhere != position:
            return Break(
                position,
                record_id,
                Problem.REORDERED,
                f"record {record_id} holds the content linked at position {elsewhere}",
            )
        return Break(position, record_id, Problem.EDITED, f"record {record_id} no longer matches its digest")
    return None


async def _first_unlinked(session: AsyncConnection, chains: ChainSet, spec: ChainSpec) -> Break | None:
    row = (await session.execute(unlinked(spec, chains.tables).add_columns(*spec.order).limit(1))).first()
    if row is None:
        return None
    record_id = str(row._mapping[spec.id.name])
    order_values = [row[len(spec.columns) + i] for i in range(len(spec.order))]
    links = chains.tables.links
    after = (
        select(func.min(links.c.position))
        .select_from(links.join(spec.table, spec.id == links.c.record_id.cast(spec.id.type)))
        .where(links.c.chain == spec.name, tuple_(*spec.order) > tuple_(*order_values))
    )
    position = (await session.execute(after)).scalar_one_or_none()
    if position is None:
        heads = chains.tables.heads
        length = (await session.execute(select(heads.c.length).where(heads.c.chain == spec.name))).scalar_one()
        position = length + 1
    return Break(
        position, record_id, Problem.INSERTED, f"record {record_id} has no link; by its order it sits at {position}"
    )


async def verify_chain(
    session: AsyncConnection, chains: ChainSet, chain: str, *, progress: Progress | None = None, batch: int = BATCH
) -> Verification:
    """Recompute `chain` and return how far it verifies and its first break, if any."""
    spec = chains[chain]
    checked, previous, head_at, found = await _walk(session, chains, spec, progress, batch)
    if found is None:
        heads = chains.tables.heads
        stored = (
            await session.execute(select(heads.c.length, heads.c.head_hash).where(heads.c.chain == chain))
        ).one_or_none()
        if stored is not None and stored.length > checked:
            found = Break(
                checked + 1, "", Problem.MISSING, f"the chain head counts {stored.length} links; {checked} remain"
            )
        elif stored is not None and (stored.length < checked or stored.head_hash != previous):
            found = Break(
                min(stored.length + 1, checked),
                "",
                Problem.INSERTED,
                f"the chain head counts {stored.length} links ending {stored.head_hash[:12]}; "
                f"the links recompute to {checked} ending {previous[:12]}",
            )
    extra = await _first_unlinked(session, chains, spec)
    if extra is not None and (found is None or extra.position <= found.position):
        found = extra
    if found is not None and found.position <= checked:
        # An unlinked row placed inside the verified prefix: only the links before it count as checked.
        checked = found.position - 1
        previous, head_at = await _hash_at(session, chains, chain, checked)
    return Verification(chain, checked, previous, head_at, found)


async def _hash_at(
    session: AsyncConnection, chains: ChainSet, chain: str, position: int
) -> tuple[str, datetime | None]:
    if position == 0:
        return ZERO_HASH, None
    links = chains.tables.links
    row = (
        await session.execute(
            select(links.c.link_hash, links.c.appended_at).where(
                and_(links.c.chain == chain, links.c.position == position)
            )
        )
    ).one()
    return row.link_hash, row.appended_at
