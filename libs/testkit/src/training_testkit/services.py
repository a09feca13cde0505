"""Running a service in-process on a free port, and waiting for conditions instead of sleeping."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from training_runtime.clock import Clock
from training_runtime.server.app import ServiceApp, ServiceDefinition
from training_runtime.settings import ServiceSettings


async def wait_until(
    condition: Callable[[], Awaitable[Any]] | Callable[[], Any],
    *,
    # Generous: a condition that holds returns at once, and a loaded CI machine is slow.
    timeout: float = 30.0,
    interval: float = 0.02,
    what: str = "condition",
) -> Any:
    """Poll `condition` (sync or async) until it returns a truthy value; return that value."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = condition()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last value {last!r})")
        await asyncio.sleep(interval)


@asynccontextmanager
async def running_app(
    definition: ServiceDefinition,
    settings: ServiceSettings,
    *,
    clock: Clock | None = None,
    wait_serving: bool = True,
    timeout: float = 30.0,
) -> AsyncIterator[ServiceApp]:
    """Start `definition` with `settings` (grpc_port=0 picks a free port) and stop it afterwards."""
    app = ServiceApp(definition, settings, clock=clock)
    await app.start()
    try:
        if wait_serving:
            await wait_until(lambda: app.serving, timeout=timeout, what=f"{definition.name} to be SERVING")
        yield app
    finally:
        await app.stop(grace=5)
