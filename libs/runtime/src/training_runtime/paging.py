"""Cursor paging shared by every List RPC: opaque page tokens over a (created_at, id) keyset."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from training_runtime.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class Page:
    size: int
    after: tuple[datetime, uuid.UUID] | None


def parse_page(page_size: int, page_token: str, *, field: str = "page") -> Page:
    if page_size < 0 or page_size > MAX_PAGE_SIZE:
        raise InvalidArgument(f"{field}.page_size", f"must be 0 (default {DEFAULT_PAGE_SIZE}) to {MAX_PAGE_SIZE}")
    size = page_size or DEFAULT_PAGE_SIZE
    if not page_token:
        return Page(size=size, after=None)
    try:
        raw = json.loads(base64.urlsafe_b64decode(page_token + "=" * (-len(page_token) % 4)))
        after = (datetime.fromisoformat(raw[0]), uuid.UUID(raw[1]))
    except (ValueError, TypeError, IndexError, KeyError):
        raise InvalidArgument(f"{field}.page_token", "is not a token this service issued") from None
    return Page(size=size, after=after)


def next_token(created_at: datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_uuid(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        raise InvalidArgument(field, "must be a UUID" if value else "is required") from None
