"""Finding rulebooks: the documents shipped in this package (`default`, `demo`) or a file a
deployment names, and the version in force at a moment."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from training_rulebook.schema import Rulebook, RulebookDocument

# China has one time zone and no daylight saving: effective dates and daily caps use UTC+8.
CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")

SHIPPED = ("default", "demo")


class RulebookError(ValueError):
    """A rulebook that cannot be found or does not satisfy the schema."""


class RulebookSet:
    """The versions of one rulebook document, oldest first."""

    def __init__(self, document: RulebookDocument, source: str) -> None:
        self.name = document.name
        self.source = source
        self.versions = tuple(sorted(document.versions, key=lambda v: v.effective_from))
        self._by_id = {v.version: v for v in self.versions}

    def in_force(self, moment: datetime) -> Rulebook:
        """The version whose effective date is the latest on or before `moment` (China time)."""
        if moment.tzinfo is None:
            raise ValueError("moment must be timezone-aware")
        day = moment.astimezone(CHINA_STANDARD_TIME).date()
        current = None
        for version in self.versions:
            if version.effective_from <= day:
                current = version
        if current is None:
            raise RulebookError(
                f"rulebook {self.name!r} has no version in force on {day.isoformat()} "
                f"(the first takes effect {self.versions[0].effective_from.isoformat()})"
            )
        return current

    def version(self, version_id: str) -> Rulebook:
        """A version by id; RulebookError if this document does not hold it."""
        try:
            return self._by_id[version_id]
        except KeyError:
            raise RulebookError(
                f"rulebook {self.name!r} ({self.source}) has no version {version_id!r}; known: {', '.join(self._by_id)}"
            ) from None

    def __contains__(self, version_id: object) -> bool:
        return version_id in self._by_id


def parse_document(text: str, source: str) -> RulebookSet:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RulebookError(f"{source} is not JSON: {exc}") from None
    try:
        return RulebookSet(RulebookDocument.model_validate(raw), source)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise RulebookError(f"{source} is not a valid rulebook: {problems}") from None


def load_rulebook(spec: str) -> RulebookSet:
    """`default`, `demo` (shipped with this package) or the path of a JSON rulebook document."""
    spec = spec.strip()
    if spec in SHIPPED:
        text = resources.files("training_rulebook").joinpath("documents", f"{spec}.json").read_text("utf-8")
        return parse_document(text, f"shipped rulebook {spec!r}")
    path = Path(spec)
    if not path.is_file():
        raise RulebookError(f"rulebook {spec!r} is neither one of {', '.join(SHIPPED)} nor a readable file")
    return parse_document(path.read_text("utf-8"), str(path))


def china_date(moment: datetime) -> str:
    """The calendar day of `moment` in China Standard Time, ISO formatted (daily caps count per day)."""
    return moment.astimezone(CHINA_STANDARD_TIME).date().isoformat()
