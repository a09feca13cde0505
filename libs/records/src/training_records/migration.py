"""The Alembic side of record chains: each chained service's `*_record_chain` migration calls
`create_record_chains(chains, now)` to create the chain tables, one head row per chain, and the links
of the rows that exist already (in each chain's own order), and `drop_record_chains()` to go back.

The link tables are append-only: a trigger refuses UPDATE, DELETE and TRUNCATE on `record_links`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import MetaData, select
from sqlalchemy.engine import Connection

from training_records.chain import ChainSet, append_sync, new_head_row
from training_records.tables import _define

BACKFILL_BATCH = 1000

APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION record_links_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'record_links is append-only'; END $$
"""
APPEND_ONLY_TRIGGERS = (
    "CREATE TRIGGER record_links_no_change BEFORE UPDATE OR DELETE ON record_links "
    "FOR EACH ROW EXECUTE FUNCTION record_links_append_only()",
    "CREATE TRIGGER record_links_no_truncate BEFORE TRUNCATE ON record_links "
    "FOR EACH STATEMENT EXECUTE FUNCTION record_links_append_only()",
)


def link_existing(connection: Connection, chains: ChainSet, chain: str, now: datetime) -> int:
    """Append links for every member row of `chain` that has none yet, in the rows' own order."""
    spec = chains[chain]
    ids = [
        r[0]
        for r in connection.execute(
            select(spec.id).where(*([spec.member] if spec.member is not None else [])).order_by(*spec.order)
        )
    ]
    for start in range(0, len(ids), BACKFILL_BATCH):
        part = ids[start : start + BACKFILL_BATCH]
        by_id = {r._mapping[spec.id.name]: r for r in connection.execute(spec.rows_by_id(part))}
        append_sync(connection, chains, chain, [by_id[i] for i in part], now=now)
    return len(ids)


def create_record_chains(chains: ChainSet, now: datetime) -> None:
    """Alembic operations: the chain tables, their append-only trigger, head rows and existing links."""
    from alembic import op

    tables = _define(MetaData())
    bind = op.get_bind()
    tables.links.create(bind)
    tables.heads.create(bind)
    op.execute(APPEND_ONLY_FUNCTION)
    for statement in APPEND_ONLY_TRIGGERS:
        op.execute(statement)
    bind.execute(tables.heads.insert(), [new_head_row(name) for name in chains.chains])
    for name in chains.chains:
        link_existing(bind, chains, name, now)


def drop_record_chains() -> None:
    from alembic import op

    op.execute("DROP TABLE IF EXISTS record_links")
    op.execute("DROP TABLE IF EXISTS record_chain_heads")
    op.execute("DROP FUNCTION IF EXISTS record_links_append_only()")
