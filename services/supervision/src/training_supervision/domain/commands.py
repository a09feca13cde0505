"""Regulator commands from the provincial platform: their types and whether one may act here."""

from __future__ import annotations

import re
from enum import StrEnum

from training_runtime.auth.principal import region_covers

_COMMAND_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


class CommandType(StrEnum):
    SUSPEND_INSTITUTION = "suspend_institution"
    WITHDRAW_COURSE = "withdraw_course"
    INVALIDATE_HOURS = "invalidate_hours"
    REVOKE_CERTIFICATE = "revoke_certificate"


class CommandStatus(StrEnum):
    RECEIVED = "received"
    APPLIED = "applied"
    REJECTED = "rejected"


def refusal(command_id: str, command_type: str, region_code: str, province: str, target_id: str) -> str | None:
    """Why supervision refuses a command before asking any service (None when it may go ahead)."""
    if not _COMMAND_ID.match(command_id):
        return "the command id must be 1-100 characters of A-Z a-z 0-9 . _ : -"
    if command_type not in {t.value for t in CommandType}:
        return f"unknown command type {command_type!r}"
    if not region_covers(province, region_code):
        return f"region {region_code!r} is not within province {province}"
    if not target_id.strip():
        return "the command names no target"
    return None
