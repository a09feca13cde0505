"""What benchmarks run against: the PostgreSQL named by TRAINING_TEST_POSTGRES_URL (else an embedded
one) and a private nats-server, both started here and removed afterwards."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from training_devstack.embedded import NatsServer
from training_testkit.infra import PostgresServer, TestDatabases


@dataclass
class Infra:
    databases: TestDatabases
    nats: NatsServer
    scratch: Path


@asynccontextmanager
async def infrastructure() -> AsyncIterator[Infra]:
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        scratch = Path(tmp)
        postgres = PostgresServer.provide(scratch)
        nats = NatsServer(scratch / "nats").start()
        databases = TestDatabases(postgres)
        try:
            yield Infra(databases=databases, nats=nats, scratch=scratch)
        finally:
            await databases.drop_all()
            nats.stop()
            postgres.close()
