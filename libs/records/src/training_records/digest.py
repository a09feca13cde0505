"""The hashes of a chain: a record's canonical digest and a link's hash (docs/records.md).

A record digest is SHA-256 over the canonical JSON of the record's hashed columns: an object with the
column names as keys (sorted), no whitespace, UTF-8. Values are normalised so that the same stored row
always encodes the same way: NULL is null, UUIDs are lowercase strings, timestamps are UTC
`YYYY-MM-DDTHH:MM:SS.ffffffZ`, dates `YYYY-MM-DD`, floats their shortest round-tripping decimal, and
binary values (snapshots, signatures) enter only as `"sha256:<hex>"` of their bytes.

A link hash is SHA-256 over the previous link's hash (32 bytes; zeros before the first link), the
record digest (32 bytes) and the position (8 bytes, big-endian).
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

ZERO_HASH = "0" * 64


def _normalise(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return repr(value)  # JSON has no NaN or infinity; their names keep them distinct
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive timestamps cannot be hashed canonically")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return "sha256:" + hashlib.sha256(bytes(value)).hexdigest()
    if isinstance(value, Mapping):
        return {str(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    raise TypeError(f"cannot hash a {type(value).__name__} canonically")


def canonical_json(values: Mapping[str, Any]) -> bytes:
    """The canonical encoding of a record's hashed columns."""
    return json.dumps(
        _normalise(values), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def record_digest(values: Mapping[str, Any]) -> str:
    """Hex SHA-256 of `canonical_json(values)`."""
    return hashlib.sha256(canonical_json(values)).hexdigest()


def link_hash(previous_hash: str, digest: str, position: int) -> str:
    """Hex SHA-256 over previous hash || record digest || position (8 bytes, big-endian)."""
    return hashlib.sha256(
        bytes.fromhex(previous_hash) + bytes.fromhex(digest) + position.to_bytes(8, "big")
    ).hexdigest()
