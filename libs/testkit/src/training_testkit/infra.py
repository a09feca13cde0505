"""PostgreSQL for tests: the server named by TRAINING_TEST_POSTGRES_URL when it answers, otherwise an
embedded one; a fresh database per use, dropped at the end of the session."""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from training_devstack.embedded import EmbeddedPostgres

ENV_URL = "TRAINING_TEST_POSTGRES_URL"


def _run(coro):  # type: ignore[no-untyped-def]
    """Run a coroutine to completion from synchronous code, whatever loop the caller has."""
    result: list[object] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(coro))
        except BaseException as exc:  # re-raised in the caller's thread
            error.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


async def _answers(url: str) -> bool:
    try:
        conn = await asyncpg.connect(url, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


class PostgresServer:
    """Where the test databases live; `embedded` is set when the suite started its own server."""

    def __init__(self, admin_url: str, embedded: EmbeddedPostgres | None = None) -> None:
        self.admin_url = admin_url
        self.embedded = embedded

    @classmethod
    def provide(cls, scratch: Path) -> PostgresServer:
        url = os.environ.get(ENV_URL)
        if url and _run(_answers(url)):
            return cls(url)
        server = EmbeddedPostgres(scratch / "postgres", durable=False).start()
        return cls(server.admin_url, server)

    def close(self) -> None:
        if self.embedded is not None:
            self.embedded.destroy()


class TestDatabases:
    """Creates uniquely named databases and drops them all at the end."""

    def __init__(self, server: PostgresServer) -> None:
        self.server = server
        self.created: list[str] = []
        self.run_id = secrets.token_hex(3)

    async def create(self, prefix: str) -> str:
        name = f"t_{prefix}_{self.run_id}_{len(self.created)}"
        conn = await asyncpg.connect(self.server.admin_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        self.created.append(name)
        return with_database(self.server.admin_url, name)

    async def drop_all(self) -> None:
        if not self.created:
            return
        conn = await asyncpg.connect(self.server.admin_url)
        try:
            for name in self.created:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
        self.created.clear()
