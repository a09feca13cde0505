"""What the simulated provincial platform holds: records by idempotency key in arrival order,
batches, regulator commands and their reported outcomes."""

from __future__ import annotations

import itertools
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
