"""PostgreSQL access: one async engine per service and a unit of work that carries events.

The unit of work is the only way application code changes state: everything it does, including the
events it emits to the outbox, commits together or not at all. Application code speaks SQLAlchemy
Core through the transaction's connection (`tx.session`); the ORM's session machinery is left out
because it costs a third of every short transaction and nothing here needs identity maps.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

import asyncpg
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext import asyncio as sa_asyncio
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from training_events import Event, add_to_outbox
from training_runtime.clock import Clock, SystemClock
from training_runtime.errors import Aborted, Unavailable
from training_runtime.settings import normalize_database_url

log = logging.getLogger(__name__)

# SQLSTATEs: serialization failure and deadlock are worth a retry by the caller.
_RETRYABLE = {"40001", "40P01"}
_UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout, OSError, ConnectionError)


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database could not be reached or the connection was lost (a restart,
    a failover): an outage the caller should retry through, not a fault of the request.

    SQLAlchemy wraps some of these in a plain DBAPIError (PostgreSQL refusing connections while it
    shuts down or starts, SQLSTATE 57P03), and code that talks to the asyncpg driver directly (batch
    writers) meets the driver's own exceptions unwrapped."""
    if isinstance(exc, _UNAVAILABLE):
        return True
    cause = exc.orig if isinstance(exc, DBAPIError) else exc
    sqlstate = str(getattr(cause, "sqlstate", "") or "")
    # Class 08: connection exception; 57P01-57P03: admin or crash shutdown, cannot connect now.
    if sqlstate.startswith(("08", "57P")):
        return True
    if isinstance(cause, asyncpg.PostgresConnectionError | asyncpg.exceptions.OperatorInterventionError):
        return True
    return isinstance(cause, asyncpg.InterfaceError) and "connection is closed" in str(cause)


class Database:
    def __init__(self, url: str, *, pool_size: int = 10, application_name: str = "training") -> None:
        # Looked up at call time so the telemetry instrumentation's wrapper applies.
        self.engine: AsyncEngine = sa_asyncio.create_async_engine(
            normalize_database_url(url),
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=False,
            pool_recycle=1800,
            connect_args={"server_settings": {"application_name": application_name}, "timeout": 5},
        )

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception as exc:
            log.debug("database ping failed: %s", exc)
            return False

    async def dispose(self) -> None:
        await self.engine.dispose()


class UnitOfWork:
    """One transaction: `async with uow.begin() as tx: tx.session...; await tx.emit(event)`."""

    def __init__(self, database: Database, *, source: str, clock: Clock | None = None) -> None:
        self._database = database
        self._source = source
        self._clock = clock or SystemClock()

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[Transaction]:
        try:
            async with self._database.engine.begin() as connection:
                yield Transaction(connection, source=self._source, clock=self._clock)
        except _UNAVAILABLE as exc:
            raise Unavailable("the database is not available; retry shortly") from exc
        except DBAPIError as exc:
            if database_unavailable(exc):
                raise Unavailable("the database is not available; retry shortly") from exc
            if getattr(exc.orig, "sqlstate", None) in _RETRYABLE:
                raise Aborted("a concurrent change conflicted with this one; retry") from exc
            raise

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads (its implicit transaction is rolled back at the end)."""
        try:
            async with self._database.engine.connect() as connection:
                yield connection
        except _UNAVAILABLE as exc:
            raise Unavailable("the database is not available; retry shortly") from exc
        except DBAPIError as exc:
            if database_unavailable(exc):
                raise Unavailable("the database is not available; retry shortly") from exc
            raise


class Transaction:
    def __init__(self, session: AsyncConnection, *, source: str, clock: Clock) -> None:
        # The transaction's connection; named for what it is to application code, its database session.
        self.session = session
        self._source = source
        self._clock = clock

    def now(self) -> datetime:
        return self._clock.now()

    async def emit(self, event: Event) -> None:
        """Write `event` to the outbox; it is published only if this transaction commits."""
        await add_to_outbox(self.session, event, source=self._source, now=self._clock.now())
