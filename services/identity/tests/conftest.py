"""Helpers for identity's API tests (the fixtures come from training_identity.testing)."""

from __future__ import annotations

from collections.abc import Awaitable

import asyncpg
import grpc
import pytest_asyncio

from training_runtime.server.status import error_reason, field_violations


async def status_of(call: Awaitable[object]) -> grpc.StatusCode:
    try:
        await call
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


async def failure(call: Awaitable[object]) -> grpc.aio.AioRpcError:
    try:
        await call
    except grpc.aio.AioRpcError as exc:
        return exc
    raise AssertionError("the call succeeded")


def violations(error: grpc.aio.AioRpcError) -> dict[str, str]:
    return field_violations(error)


def reason(error: grpc.aio.AioRpcError) -> str | None:
    return error_reason(error)


class Rows:
    """Counts rows in identity's database, to prove a refused call wrote nothing."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def counts(self) -> dict[str, int]:
        conn = await asyncpg.connect(self.url)
        try:
            return {
                table: await conn.fetchval(f"SELECT count(*) FROM {table}")  # noqa: S608
                for table in ("users", "institutions", "institution_status_changes", "refresh_tokens", "outbox")
            }
        finally:
            await conn.close()

    async def fetchrow(self, query: str, *args: object) -> asyncpg.Record | None:
        conn = await asyncpg.connect(self.url)
        try:
            return await conn.fetchrow(query, *args)
        finally:
            await conn.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def rows(identity_database: str) -> Rows:
    return Rows(identity_database)
