"""Tamper evidence for append-only records (docs/records.md): per-service hash chains, appended in the
transaction that inserts the records, a streaming verifier, RecordChainService and the verify command."""

from training_records.chain import ChainSet, ChainSpec, NewLink, append, lock_chain
from training_records.digest import ZERO_HASH, canonical_json, link_hash, record_digest
from training_records.heads import Head, current_heads, day_end, heads_at
from training_records.policy import RECORD_CHAIN_RULES, RECORD_CHAIN_SERVICE
from training_records.tables import RecordTables, record_tables
from training_records.verify import Break, Problem, Verification, verify_chain

__all__ = [
    "RECORD_CHAIN_RULES",
    "RECORD_CHAIN_SERVICE",
    "ZERO_HASH",
    "Break",
    "ChainSet",
    "ChainSpec",
    "Head",
    "NewLink",
    "Problem",
    "RecordTables",
    "Verification",
    "append",
    "canonical_json",
    "current_heads",
    "day_end",
    "heads_at",
    "link_hash",
    "lock_chain",
    "record_digest",
    "record_tables",
    "verify_chain",
]
