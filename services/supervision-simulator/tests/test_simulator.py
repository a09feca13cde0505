"""The simulator over real HTTPS: it refuses an unknown token, stores a record once by its
idempotency key, rejects malformed records, answers reconciliation by day, and its admin API sets
faults, issues commands and loses records on request."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator

import aiohttp
import pytest_asyncio

from training_supervision_simulator import Simulator

TOKEN = "simulator-test-token-000000"


@pytest_asyncio.fixture
async def simulator() -> AsyncIterator[Simulator]:
    running = await Simulator(token=TOKEN, seed=7).start()
    yield running
    await running.stop()


@pytest_asyncio.fixture
async def client(simulator: Simulator) -> AsyncIterator[aiohttp.ClientSession]:
    context = ssl.create_default_context(cadata=simulator.certificate_pem.decode())
    async with aiohttp.ClientSession(
        base_url=simulator.url,
        headers={"Authorization": f"Bearer {TOKEN}"},
        connector=aiohttp.TCPConnector(ssl=context),
    ) as session:
        yield session


def record(key: str, sequence: int = 1) -> dict:
    return {
        "idempotency_key": key,
        "record_type": "hour_record",
        "operation": "credited",
        "order_key": "trainee:t1",
        "sequence": sequence,
        "occurred_at": "2026-03-01T01:00:00Z",
        "region_code": "440106",
        "data": {"credited_hours": 1.0},
    }


async def test_an_unknown_token_is_refused(simulator: Simulator) -> None:
    context = ssl.create_default_context(cadata=simulator.certificate_pem.decode())
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as anonymous:
        answer = await anonymous.post(f"{simulator.url}/api/v1/records", json={"records": [record("a")]})
        assert answer.status == 401
    assert simulator.store.records == {}


async def test_a_record_is_stored_once_by_its_key(client, simulator: Simulator) -> None:
    first = await (await client.post("/api/v1/records", json={"records": [record("k1")]})).json()
    again = await (await client.post("/api/v1/records", json={"records": [record("k1"), record("k2", 2)]})).json()

    assert [a["status"] for a in first["acks"]] == ["stored"]
    assert [a["status"] for a in again["acks"]] == ["duplicate", "stored"]
    assert again["acks"][0]["receipt_id"] == first["acks"][0]["receipt_id"]
    assert [s.record["idempotency_key"] for s in simulator.store.in_arrival_order()] == ["k1", "k2"]


async def test_a_malformed_record_is_rejected_with_the_reason(client, simulator: Simulator) -> None:
    bad = {**record("k3"), "sequence": 0, "occurred_at": ""}
    answer = await (await client.post("/api/v1/records", json={"records": [bad]})).json()

    (ack,) = answer["acks"]
    assert ack["status"] == "rejected"
    assert "occurred_at is required" in ack["error"]
    assert "k3" not in simulator.store.records


async def test_reconciliation_lists_the_keys_of_a_day(client, simulator: Simulator) -> None:
    late = {**record("k5"), "occurred_at": "2026-03-01T17:00:00Z"}  # already 2 March in Beijing
    await client.post("/api/v1/records", json={"records": [record("k4"), late]})

    first = await (await client.get("/api/v1/records/keys", params={"date": "2026-03-01"})).json()
    second = await (await client.get("/api/v1/records/keys", params={"date": "2026-03-02"})).json()

    assert first["keys"] == ["k4"]
    assert second["keys"] == ["k5"]


async def test_admin_faults_commands_and_forgetting(client, simulator: Simulator) -> None:
    faults = await (await client.put("/admin/faults", json={"fail_ratio": 1.0})).json()
    assert faults["fail_ratio"] == 1.0
    failed = await client.post("/api/v1/records", json={"records": [record("k6")]})
    assert failed.status == 503
    assert (await client.put("/admin/faults", json={"fail_ratio": 2})).status == 400
    await client.put("/admin/faults", json={"fail_ratio": 0})

    issued = await client.post(
        "/admin/commands",
        json={"command_type": "suspend_institution", "region_code": "440100", "target_id": "i-1", "reason": "检查"},
    )
    assert issued.status == 201
    command = await issued.json()
    feed = await (await client.get("/api/v1/commands")).json()
    assert [c["command_id"] for c in feed["commands"]] == [command["command_id"]]
    later = await (await client.get("/api/v1/commands", params={"after": feed["cursor"]})).json()
    assert later["commands"] == []
    outcome = await client.post(
        f"/api/v1/commands/{command['command_id']}/outcome", json={"status": "applied", "detail": "done"}
    )
    assert outcome.status == 200
    assert simulator.store.command(command["command_id"]).outcome == {"status": "applied", "detail": "done"}

    await client.post("/api/v1/records", json={"records": [record("k7")]})
    assert (await client.delete("/admin/records/k7")).status == 200
    assert "k7" not in simulator.store.records
