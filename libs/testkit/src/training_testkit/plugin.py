"""pytest fixtures for real infrastructure (registered through the `pytest11` entry point).

- `postgres_server`: where test databases live (session).
- `test_databases`: `await test_databases.create("identity")` -> URL of a fresh database (dropped at the end).
- `nats_server`: a nats-server with JetStream on a free port, shared by the session.
- `nats_factory`: `nats_factory()` starts a private server a test may stop, kill and restart.
- `metric_reader`: the in-memory reader of every metric the process records (telemetry is installed
  when pytest starts, before any service); `span_exporter`: the spans finished during one test.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from training_devstack.embedded import NatsServer
from training_testkit import telemetry
from training_testkit.infra import PostgresServer, TestDatabases


def pytest_configure(config: pytest.Config) -> None:
    telemetry.install()


@pytest.fixture(scope="session")
def metric_reader() -> telemetry.InMemoryMetricReader:
    return telemetry.METRICS


@pytest.fixture
def span_exporter() -> Iterator[telemetry.InMemorySpanExporter]:
    with telemetry.collecting_spans() as exporter:
        yield exporter


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    # Not under pytest's temporary root: as root the embedded server runs as its own user, which
    # must traverse the folders above its data, and every pytest session resets that root to 0700.
    scratch = Path(tempfile.mkdtemp(prefix="training-test-pg-"))
    try:
        server = PostgresServer.provide(scratch)
        yield server
        server.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def test_databases(postgres_server: PostgresServer) -> AsyncIterator[TestDatabases]:
    databases = TestDatabases(postgres_server)
    yield databases
    await databases.drop_all()


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path_factory.mktemp("nats") / "store").start()
    yield server
    server.stop()


@pytest.fixture
def nats_factory(tmp_path: Path) -> Iterator[Callable[[], NatsServer]]:
    started: list[NatsServer] = []

    def start() -> NatsServer:
        server = NatsServer(tmp_path / f"nats-{len(started)}" / "store").start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()
