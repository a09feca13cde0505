"""Chain heads: now (the head rows) or as of the end of a day in China time (the last link appended
before midnight; appended_at never decreases along a chain, so that link closes the day's prefix)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from training_records.chain import ChainSet
from training_records.digest import ZERO_HASH

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")


@dataclass(frozen=True)
class Head:
    chain: str
    length: int
    head_hash: str
    head_at: datetime | None


def day_end(day: date) -> datetime:
    """The instant a China-time calendar day ends (the next day's 00:00 +08:00)."""
    return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=CHINA)


def china_day(moment: datetime) -> date:
    return moment.astimezone(CHINA).date()


async def current_heads(session: AsyncConnection, chains: ChainSet) -> list[Head]:
    heads = chains.tables.heads
    rows = {
        r.chain: r
        for r in await session.execute(
            select(heads.c.chain, heads.c.length, heads.c.head_hash, heads.c.head_at).where(
                heads.c.chain.in_(list(chains.chains))
            )
        )
    }
    result = []
    for name in chains.chains:
        row = rows.get(name)
        result.append(Head(name, row.length, row.head_hash, row.head_at) if row else Head(name, 0, ZERO_HASH, None))
    return result


async def heads_at(session: AsyncConnection, chains: ChainSet, end: datetime) -> list[Head]:
    """Each chain's head as of `end` (links appended strictly before it)."""
    links = chains.tables.links
    result = []
    for name in chains.chains:
        row = (
            await session.execute(
                select(links.c.position, links.c.link_hash, links.c.appended_at)
                .where(links.c.chain == name, links.c.appended_at < end)
                .order_by(links.c.appended_at.desc(), links.c.position.desc())
                .limit(1)
            )
        ).one_or_none()
        result.append(
            Head(name, row.position, row.link_hash, row.appended_at) if row else Head(name, 0, ZERO_HASH, None)
        )
    return result
