"""Regulator commands relayed by the supervision service.

The provincial supervision platform sends commands (suspend an institution, withdraw a course,
invalidate hours, revoke a certificate); supervision applies each through the owning service's RPC
with its own service token and the header `x-training-regulator-command: <command id>;<region>`.
The server then acts for the command, not for supervision: the principal becomes a regulator of the
command's region whose subject names the command. The owning service's usual regulator rules apply
(only within the region), and the command is what its records and events name as the actor.

Only the supervision service may carry the header; anyone else sending it is refused.
"""

from __future__ import annotations

import re

from training_runtime.auth.principal import Principal, Role
from training_runtime.errors import PermissionDenied

REGULATOR_COMMAND_HEADER = "x-training-regulator-command"
RELAYING_SERVICE = "supervision"
COMMAND_SUBJECT_PREFIX = "regulator-command:"

_COMMAND_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
_REGION = re.compile(r"^\d{6}$")


def command_metadata(command_id: str, region_code: str) -> tuple[tuple[str, str], ...]:
    """The call metadata supervision sends with an RPC that applies a regulator command."""
    if not _COMMAND_ID.match(command_id) or not _REGION.match(region_code):
        raise ValueError("a regulator command needs an id of [A-Za-z0-9._:-] and a 6-digit region code")
    return ((REGULATOR_COMMAND_HEADER, f"{command_id};{region_code}"),)


def acting_for_command(caller: Principal, header: str) -> Principal:
    """The principal a call carrying `header` acts as; PermissionDenied unless supervision sent it."""
    if not caller.is_service or caller.service_name != RELAYING_SERVICE:
        raise PermissionDenied("only the supervision service may relay a regulator command")
    command_id, _, region_code = header.partition(";")
    if not _COMMAND_ID.match(command_id) or not _REGION.match(region_code):
        raise PermissionDenied("the regulator command header must be '<command id>;<6-digit region code>'")
    return Principal(subject=f"{COMMAND_SUBJECT_PREFIX}{command_id}", role=Role.REGULATOR, region_code=region_code)


def is_regulator_command(actor: Principal) -> bool:
    """Whether `actor` is a regulator command relayed by supervision (its subject names the command).

    The RPCs that apply commands are idempotent by command id: a repeat of a command (supervision
    died after the call succeeded and before recording it) finds a change recorded with this very
    subject and answers with the current state instead of refusing or changing anything again.
    """
    return actor.subject.startswith(COMMAND_SUBJECT_PREFIX)
