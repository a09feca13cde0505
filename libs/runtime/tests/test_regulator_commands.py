"""A regulator command relayed by supervision acts as a regulator of the command's region; nobody
else may relay one, and a malformed header is refused."""

from __future__ import annotations

import pytest

from training_runtime.auth.commands import acting_for_command, command_metadata
from training_runtime.auth.principal import Principal, Role
from training_runtime.errors import PermissionDenied

SUPERVISION = Principal(subject="service:supervision", role=Role.SERVICE)


def test_supervision_relaying_a_command_acts_as_a_regulator_of_its_region() -> None:
    ((_, header),) = command_metadata("cmd-42", "440100")

    acting = acting_for_command(SUPERVISION, header)

    assert acting == Principal(subject="regulator-command:cmd-42", role=Role.REGULATOR, region_code="440100")
    assert acting.covers_region("440106")
    assert not acting.covers_region("440300")


@pytest.mark.parametrize(
    "caller",
    [
        Principal(subject="service:exams", role=Role.SERVICE),
        Principal(subject="7d5c3f7e-1c1a-4a0e-9a53-1f7a1d2b3c4d", role=Role.REGULATOR, region_code="440000"),
        Principal(subject="7d5c3f7e-1c1a-4a0e-9a53-1f7a1d2b3c4d", role=Role.OPERATOR),
    ],
    ids=["another-service", "a-regulator", "the-operator"],
)
def test_nobody_else_may_relay_a_command(caller: Principal) -> None:
    with pytest.raises(PermissionDenied, match="only the supervision service"):
        acting_for_command(caller, "cmd-42;440100")


@pytest.mark.parametrize("header", ["cmd-42", "cmd-42;44", ";440100", "cmd 42;440100", "cmd-42;440100;x"])
def test_a_malformed_header_is_refused(header: str) -> None:
    with pytest.raises(PermissionDenied, match="must be"):
        acting_for_command(SUPERVISION, header)


def test_command_metadata_refuses_what_it_cannot_send() -> None:
    with pytest.raises(ValueError):
        command_metadata("cmd 42", "440100")
    with pytest.raises(ValueError):
        command_metadata("cmd-42", "4401")
