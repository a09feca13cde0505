"""What the simulated provincial platform holds: records by idempotency key in arrival order,
batches, regulator commands and their reported outcomes."""

from __future__ import annotations

import itertools
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

CHINA = timezone(timedelta(hours=8))
RECORD_FIELDS = ("idempotency_key", "record_type", "operation", "order_key", "sequence", "occurred_at", "data")
COMMAND_TYPES = ("suspend_institution", "withdraw_course", "invalidate_hours", "revoke_certificate")


@dataclass
class Stored:
    arrival: int
    receipt_id: str
    record: dict[str, Any]
    received_at: datetime

    @property
    def day(self) -> date:
        occurred = datetime.fromisoformat(str(self.record["occurred_at"]).replace("Z", "+00:00"))
        return occurred.astimezone(CHINA).date()


@dataclass
class Command:
    command_id: str
    command_type: str
    region_code: str
    target_id: str
    reason: str
    issued_at: datetime
    position: int
    outcome: dict[str, Any] | None = None
    outcomes_received: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "command_id": self.command_id,
            "command_type": self.command_type,
            "region_code": self.region_code,
            "target_id": self.target_id,
            "reason": self.reason,
            "issued_at": self.issued_at.isoformat().replace("+00:00", "Z"),
        }


def problems(record: Any) -> list[str]:
    """Why a pushed record cannot be stored (empty when it can)."""
    if not isinstance(record, dict):
        return ["a record must be a JSON object"]
    found = [f"{name} is required" for name in RECORD_FIELDS if record.get(name) in (None, "")]
    if not found:
        if not isinstance(record["sequence"], int) or record["sequence"] < 1:
            found.append("sequence must be a positive integer")
        if not isinstance(record["data"], dict):
            found.append("data must be an object")
        try:
            datetime.fromisoformat(str(record["occurred_at"]).replace("Z", "+00:00"))
        except ValueError:
            found.append("occurred_at must be an RFC 3339 time")
        if record["record_type"] == "chain_head" and isinstance(record["data"], dict):
            found.extend(chain_head_problems(record["data"]))
    return found


_HASH = re.compile(r"^[0-9a-f]{64}$")


def chain_head_problems(data: dict[str, Any]) -> list[str]:
    """A chain_head record's data: {"day": "YYYY-MM-DD", "services": [{"service", "heads": [{"chain",
    "length", "head_hash", "head_at"}]}]} (docs/supervision-contract.md)."""
    found = []
    try:
        date.fromisoformat(str(data.get("day")))
    except ValueError:
        found.append("data.day must be a date YYYY-MM-DD")
    services = data.get("services")
    if not isinstance(services, list) or not services:
        return [*found, "data.services must be a non-empty list"]
    for i, service in enumerate(services):
        heads = service.get("heads") if isinstance(service, dict) else None
        if not isinstance(service, dict) or not service.get("service") or not isinstance(heads, list):
            found.append(f"data.services[{i}] needs service and heads")
            continue
        for j, head in enumerate(heads):
            where = f"data.services[{i}].heads[{j}]"
            if not isinstance(head, dict) or not head.get("chain"):
                found.append(f"{where}.chain is required")
            elif not isinstance(head.get("length"), int) or head["length"] < 0:
                found.append(f"{where}.length must be a non-negative integer")
            elif not _HASH.match(str(head.get("head_hash"))):
                found.append(f"{where}.head_hash must be 64 hex digits")
    return found


@dataclass
class Store:
    records: dict[str, Stored] = field(default_factory=dict)
    batches: dict[str, dict[str, Any]] = field(default_factory=dict)
    commands: list[Command] = field(default_factory=list)
    _arrivals: itertools.count = field(default_factory=lambda: itertools.count(1))

    def put(self, record: dict[str, Any]) -> tuple[str, Stored | None, str]:
        """Store a record once by its idempotency key: ("stored"|"duplicate"|"rejected", entry, error)."""
        errors = problems(record)
        if errors:
            return "rejected", None, "; ".join(errors)
        key = record["idempotency_key"]
        existing = self.records.get(key)
        if existing is not None:
            return "duplicate", existing, ""
        entry = Stored(next(self._arrivals), f"r-{uuid.uuid4().hex[:16]}", dict(record), datetime.now(UTC))
        self.records[key] = entry
        return "stored", entry, ""

    def in_arrival_order(self) -> list[Stored]:
        return sorted(self.records.values(), key=lambda s: s.arrival)

    def chain_heads(self, day: date) -> dict[str, Any] | None:
        """The chain_head record's data for `day` (the heads as of that day's end), if received."""
        for stored in self.records.values():
            if stored.record["record_type"] == "chain_head" and stored.record["data"].get("day") == day.isoformat():
                return stored.record["data"]
        return None

    def keys_of_day(self, day: date) -> list[str]:
        return sorted(key for key, stored in self.records.items() if stored.day == day)

    def issue(self, command_type: str, region_code: str, target_id: str, reason: str) -> Command:
        command = Command(
            command_id=f"cmd-{uuid.uuid4().hex[:20]}",
            command_type=command_type,
            region_code=region_code,
            target_id=target_id,
            reason=reason,
            issued_at=datetime.now(UTC),
            position=len(self.commands) + 1,
        )
        self.commands.append(command)
        return command

    def command(self, command_id: str) -> Command | None:
        return next((c for c in self.commands if c.command_id == command_id), None)
