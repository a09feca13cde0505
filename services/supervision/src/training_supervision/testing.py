"""Test support for supervision (pytest plugin).

Fixtures:
- `province`: the provincial platform simulator, over real HTTPS with its self-signed certificate
  (session); tests set its faults and must leave them off (`province_faults` does that).
- `supervision_app`: supervision running in-process (session), trusting exactly the simulator's
  certificate, applying regulator commands through the session's identity, courses, learning and
  certificates, with short timeouts and backoff so fault scenarios finish in seconds.
- `supervision_stub`: a SupervisionService stub.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import pytest_asyncio

from training.supervision.v1 import supervision_pb2_grpc
from training_devstack.embedded import NatsServer
from training_identity.testing import migrated_database
from training_runtime.clients import insecure_channel
from training_runtime.server.app import ServiceApp
from training_supervision.service import MIGRATIONS, SupervisionService
from training_supervision.settings import SupervisionSettings
from training_supervision_simulator import Simulator
from training_testkit import TestDatabases, running_app

PROVINCE_TOKEN = "province-test-token-0123456789"


def supervision_settings(**values: Any) -> SupervisionSettings:
    defaults: dict[str, Any] = {
        "grpc_host": "127.0.0.1",
        "grpc_port": 0,
        "log_format": "text",
        "health_check_interval_seconds": 0.2,
        "outbox_poll_interval_seconds": 0.5,
        "push_batch_size": 5,
        "push_concurrency": 4,
        "push_timeout_seconds": 1.0,
        "push_max_attempts": 8,
        "push_backoff_base_seconds": 0.05,
        "push_backoff_max_seconds": 0.4,
        "push_poll_interval_seconds": 0.05,
        "command_poll_interval_seconds": 0.3,
    }
    defaults.update(values)
    return SupervisionSettings(**defaults)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def province(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Simulator]:
    simulator = Simulator(token=PROVINCE_TOKEN, seed=20260301)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
def province_faults(province: Simulator) -> Iterator[Simulator]:
    """The simulator, with every fault turned off again after the test."""
    yield province
    province.set_faults(fail_ratio=0, timeout_ratio=0, slow_ms=0, double_ack=False, reject_ratio=0)


@pytest.fixture(scope="session")
def province_certificate(province: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("province") / "province.pem"
    path.write_bytes(province.certificate_pem)
    return path


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def supervision_database(test_databases: TestDatabases) -> str:
    return await migrated_database(test_databases, "supervision", MIGRATIONS)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def supervision_app(
    supervision_database: str,
    nats_server: NatsServer,
    identity_app: ServiceApp,
    courses_app: ServiceApp,
    learning_app: ServiceApp,
    certificates_app: ServiceApp,
    platform_secrets: dict[str, str],
    province: Simulator,
    province_certificate: Path,
) -> AsyncIterator[ServiceApp]:
    settings = supervision_settings(
        database_url=supervision_database,
        nats_url=nats_server.url,
        identity_url=f"127.0.0.1:{identity_app.port}",
        courses_url=f"127.0.0.1:{courses_app.port}",
        learning_url=f"127.0.0.1:{learning_app.port}",
        certificates_url=f"127.0.0.1:{certificates_app.port}",
        record_chain_services=(
            f"identity=127.0.0.1:{identity_app.port},learning=127.0.0.1:{learning_app.port},"
            f"certificates=127.0.0.1:{certificates_app.port}"
        ),
        service_client_secret=platform_secrets["client_secret_supervision"],
        province_url=province.url,
        province_token=PROVINCE_TOKEN,
        province_ca_file=str(province_certificate),
    )
    async with running_app(SupervisionService(), settings) as app:
        yield app


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def supervision_channel(supervision_app: ServiceApp) -> AsyncIterator[grpc.aio.Channel]:
    channel = insecure_channel(f"127.0.0.1:{supervision_app.port}")
    yield channel
    await channel.close()


@pytest.fixture(scope="session")
def supervision_stub(supervision_channel: grpc.aio.Channel) -> supervision_pb2_grpc.SupervisionServiceStub:
    return supervision_pb2_grpc.SupervisionServiceStub(supervision_channel)
