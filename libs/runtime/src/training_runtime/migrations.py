"""Alembic, driven from code: every service keeps its revisions in `training_<name>/migrations` with a
two-line env.py that calls `run_env(metadata)`."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from training_runtime.settings import normalize_database_url


def alembic_config(migrations: str, database_url: str) -> Config:
    """`migrations` is a package resource path such as `training_identity:migrations`."""
    config = Config()
    config.set_main_option("script_location", migrations)
    config.set_main_option("path_separator", "os")
    config.attributes["database_url"] = normalize_database_url(database_url)
    return config


def upgrade(migrations: str, database_url: str, *, revision: str = "head") -> None:
    """Apply migrations up to `revision` (blocking; call through asyncio.to_thread from async code)."""
    command.upgrade(alembic_config(migrations, database_url), revision)


def downgrade(migrations: str, database_url: str, *, revision: str) -> None:
    command.downgrade(alembic_config(migrations, database_url), revision)


def run_env(metadata: MetaData) -> None:
    """The body of every service's migrations/env.py (online mode, asyncpg, one transaction)."""
    from alembic import context

    url = context.config.attributes.get("database_url") or context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL given to the migrations")

    def run(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=metadata, transaction_per_migration=False)
        with context.begin_transaction():
            # Two processes migrating at once (two pods starting) wait for each other.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7263)")
            context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(normalize_database_url(url), poolclass=pool.NullPool)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(run)
        finally:
            await engine.dispose()

    asyncio.run(main())
