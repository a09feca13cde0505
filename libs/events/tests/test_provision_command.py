"""`python -m training_events provision`, as the deployment's hook Job runs it: against a NATS server that
requires a user and password, with every setting taken from the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from training_devstack.embedded import NatsServer
from training_events.connection import connect_once

USER = "provisioner"
PASSWORD = "hook-job-password-2026"


@pytest.fixture
def secured_nats(tmp_path: Path):
    server = NatsServer(tmp_path / "store", user=USER, password=PASSWORD).start()
    yield server
    server.kill()


def run_provision(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NATS_")}
    return subprocess.run(
        [sys.executable, "-m", "training_events", "provision", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


async def stream_names(server: NatsServer) -> set[str]:
    client = await connect_once(server.url, name="test", user=USER, password=PASSWORD)
    try:
        return {info.config.name for info in await client.jetstream().streams_info()}
    finally:
        await client.close()


async def test_provision_reads_url_and_credentials_from_the_environment(secured_nats: NatsServer) -> None:
    result = run_provision(
        {"NATS_URL": secured_nats.url, "NATS_USER": USER, "NATS_PASSWORD": PASSWORD, "NATS_STREAM_REPLICAS": "1"},
        "--contexts",
        "courses,identity",
    )

    assert result.returncode == 0, result.stderr
    assert await stream_names(secured_nats) == {"TRAINING_COURSES", "TRAINING_IDENTITY", "TRAINING_DEADLETTER"}


async def test_provision_without_credentials_is_refused_and_creates_nothing(secured_nats: NatsServer) -> None:
    result = run_provision({"NATS_URL": secured_nats.url}, "--contexts", "courses")

    assert result.returncode != 0
    assert "authorization" in result.stderr.lower()
    assert await stream_names(secured_nats) == set()


def test_provision_rejects_an_unknown_context_before_connecting() -> None:
    result = run_provision({"NATS_URL": "nats://127.0.0.1:1"}, "--contexts", "courses,cources")

    assert result.returncode == 2
    assert "unknown contexts: cources" in result.stderr
