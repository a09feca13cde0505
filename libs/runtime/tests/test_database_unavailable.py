"""Which database failures are outages (UNAVAILABLE, retry) rather than faults of the request: the
ones SQLAlchemy wraps in a plain DBAPIError and the driver's own, from code that uses asyncpg directly."""

from __future__ import annotations

import asyncpg
from sqlalchemy.exc import DBAPIError, OperationalError

from training_runtime.db import database_unavailable


def wrapped(error: Exception) -> DBAPIError:
    return DBAPIError("SELECT 1", None, error)


def test_postgres_shutting_down_or_starting_is_an_outage_even_as_a_plain_dbapi_error() -> None:
    assert database_unavailable(wrapped(asyncpg.exceptions.CannotConnectNowError("the database system is starting up")))
    assert database_unavailable(wrapped(asyncpg.exceptions.AdminShutdownError("terminating connection")))
    assert database_unavailable(OperationalError("SELECT 1", None, Exception("connection refused")))


def test_the_drivers_own_lost_connection_is_an_outage() -> None:
    assert database_unavailable(asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"))
    assert database_unavailable(asyncpg.InterfaceError("connection is closed"))


def test_a_faulty_statement_or_a_misuse_of_the_driver_is_not_an_outage() -> None:
    assert not database_unavailable(wrapped(asyncpg.exceptions.UniqueViolationError("duplicate key")))
    assert not database_unavailable(
        asyncpg.InterfaceError("cannot perform operation: another operation is in progress")
    )
    assert not database_unavailable(ValueError("bad"))
