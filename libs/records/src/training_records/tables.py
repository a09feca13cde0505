"""The two tables every chained service database holds: `record_links` (one row per link, append-only)
and `record_chain_heads` (one row per chain: its length and last hash, the row appends lock)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
)

TZ = DateTime(timezone=True)


@dataclass(frozen=True)
class RecordTables:
    links: Table
    heads: Table


def _define(metadata: MetaData) -> RecordTables:
    links = Table(
        "record_links",
        metadata,
        Column("chain", Text, nullable=False),
        Column("position", BigInteger, nullable=False),
        Column("record_id", Text, nullable=False),
        Column("record_digest", Text, nullable=False),
        Column("previous_hash", Text, nullable=False),
        Column("link_hash", Text, nullable=False),
        Column("appended_at", TZ, nullable=False),
        PrimaryKeyConstraint("chain", "position", name="record_links_pkey"),
        UniqueConstraint("chain", "record_id", name="record_links_record"),
        Index("record_links_appended", "chain", "appended_at"),
    )
    heads = Table(
        "record_chain_heads",
        metadata,
        Column("chain", Text, primary_key=True),
        Column("length", BigInteger, nullable=False),
        Column("head_hash", Text, nullable=False),
        Column("head_at", TZ),
    )
    return RecordTables(links=links, heads=heads)


def record_tables(metadata: MetaData) -> RecordTables:
    """The chain tables on `metadata`, defined once per metadata."""
    if "record_links" in metadata.tables:
        return RecordTables(links=metadata.tables["record_links"], heads=metadata.tables["record_chain_heads"])
    return _define(metadata)
