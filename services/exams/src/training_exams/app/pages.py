"""Newest-first keyset paging over (created, id) for the List RPCs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, or_

from training_runtime.paging import Page, next_token

T = TypeVar("T")


@dataclass(frozen=True)
class ListPage(Generic[T]):
    items: list[T]
    next_page_token: str


def newest_first(query: Select[Any], created: Any, row_id: Any, page: Page) -> Select[Any]:
    if page.after is not None:
        at, last = page.after
        query = query.where(or_(created < at, and_(created == at, row_id < last)))
    return query.order_by(created.desc(), row_id.desc()).limit(page.size + 1)


def cut(rows: Sequence[Any], page: Page, created: str) -> tuple[Sequence[Any], str]:
    """The page's rows and the token of the next page ("" on the last one)."""
    if len(rows) <= page.size:
        return rows, ""
    rows = rows[: page.size]
    return rows, next_token(getattr(rows[-1], created), rows[-1].id)
