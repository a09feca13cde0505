"""Test support: a rulebook document for the test suite (pytest plugin listed in the root conftest.py).

The `test` document has three versions. `test-2026` (in force from 2026-01-01) makes one class
hour one minute, so a scenario studies a lesson in a few dozen heartbeats; `test-capped-2031` (from
2031-01-01) is the same with the daily cap switched on; `test-45min-2036` (from 2036-01-01) is the
default rulebook's 45-minute class hour and check cadence with one-hour requirements, for the
scenario that studies a whole class hour. A scenario chooses a version by setting the shared clock
before its class opens.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from training_rulebook.loading import load_rulebook
from training_runtime.clock import ManualClock

UNCAPPED_FROM = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
CAPPED_FROM = datetime(2031, 3, 3, 0, 0, tzinfo=UTC)
FULL_HOURS_FROM = datetime(2036, 3, 3, 0, 0, tzinfo=UTC)
DAILY_CAP_HOURS = 3


def suite_document() -> dict:
    demo = load_rulebook("demo").versions[-1].model_dump(mode="json")
    base = {
        **demo,
        "version": "test-2026",
        "effective_from": "2026-01-01",
        "description": "The test suite's rules: one-minute class hours, checks every half to one and a half minutes.",
        "face_checks": {
            **demo["face_checks"],
            "max_interval_minutes": 1.5,
            "min_interval_minutes": 0.5,
            "response_seconds": 20,
        },
        "heartbeats": {**demo["heartbeats"], "idle_timeout_seconds": 60, "abandon_after_minutes": 10},
    }
    capped = {
        **base,
        "version": "test-capped-2031",
        "effective_from": "2031-01-01",
        "description": "As test-2026, with a daily cap.",
        "daily_cap": {"enabled": True, "hours": DAILY_CAP_HOURS},
    }
    default = load_rulebook("default").versions[-1].model_dump(mode="json")
    full_hours = {
        **default,
        "version": "test-45min-2036",
        "effective_from": "2036-01-01",
        "description": "The default rulebook's class hour and checks, with one-hour requirements.",
        "required_hours": {q: {"initial": 1, "refresher": 1} for q in default["required_hours"]},
    }
    return {"name": "test", "versions": [base, capped, full_hours]}


@pytest.fixture(scope="session")
def rulebook_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = Path(tmp_path_factory.mktemp("rulebook")) / "test-rulebook.json"
    path.write_text(json.dumps(suite_document(), indent=2, ensure_ascii=False))
    load_rulebook(str(path))  # fail here, not in a service, if the document is wrong
    return str(path)


@pytest.fixture(scope="session")
def training_clock() -> ManualClock:
    """The clock courses and learning share in tests; scenarios move it (never sleep)."""
    return ManualClock(UNCAPPED_FROM)
