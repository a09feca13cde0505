"""One NATS connection per process, established in the background and kept alive for good.

The service starts serving before NATS answers (health stays NOT_SERVING), so connecting must never
block start-up or give up: the first connect retries forever, and so do reconnects.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext

log = logging.getLogger(__name__)


class NatsConnection:
    def __init__(
        self,
        url: str,
        *,
        name: str,
        user: str | None = None,
        password: str | None = None,
        token: str | None = None,
        reconnect_wait_seconds: float = 0.5,
        on_connect: Callable[[JetStreamContext], Awaitable[None]] | None = None,
    ) -> None:
        self.url = url
        self.name = name
        self._credentials = {"user": user, "password": password, "token": token}
        self._reconnect_wait = reconnect_wait_seconds
        self._on_connect = on_connect
        self._client: Client | None = None
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.last_error: str | None = None

    def start(self) -> None:
        """Begin connecting in the background; `wait_ready()` resolves once JetStream is usable."""
        if self._task is None:
            self._task = asyncio.create_task(self._connect(), name=f"nats-connect-{self.name}")

    async def _connect(self) -> None:
        client = Client()

        async def error_cb(exc: Exception) -> None:
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.debug("nats: %s", self.last_error)

        async def disconnected_cb() -> None:
            if self._ready.is_set():
                log.warning("nats: disconnected from %s", self.url)

        async def reconnected_cb() -> None:
            log.info("nats: reconnected to %s", self.url)

        await client.connect(
            servers=[s.strip() for s in self.url.split(",")],
            name=self.name,
            max_reconnect_attempts=-1,
            reconnect_time_wait=self._reconnect_wait,  # type: ignore[arg-type]
            connect_timeout=2,
            ping_interval=5,
            max_outstanding_pings=2,
            error_cb=error_cb,
            disconnected_cb=disconnected_cb,
            reconnected_cb=reconnected_cb,
            **{k: v for k, v in self._credentials.items() if v},
        )
        self._client = client
        js = client.jetstream(timeout=5)
        while True:
            try:
                if self._on_connect is not None:
                    await self._on_connect(js)
                break
            except Exception as exc:  # provisioning retries until JetStream answers
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("nats: set-up after connect failed, retrying: %s", self.last_error)
                await asyncio.sleep(self._reconnect_wait)
        self._ready.set()
        log.info("nats: connected to %s", client.connected_url.geturl() if client.connected_url else self.url)

    async def wait_ready(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._ready.wait(), timeout)

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.is_connected and self._ready.is_set()

    @property
    def client(self) -> Client:
        if self._client is None or not self._ready.is_set():
            raise RuntimeError("NATS is not connected yet")
        return self._client

    def jetstream(self) -> JetStreamContext:
        return self.client.jetstream(timeout=5)

    async def close(self) -> None:
        """Drain (deliver what is buffered, stop subscriptions) and close."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        if self._client is not None and not self._client.is_closed:
            try:
                if self._client.is_connected:
                    await asyncio.wait_for(self._client.drain(), 5)
                else:
                    await self._client.close()
            except Exception as exc:  # closing is best effort; nothing committed depends on it
                log.debug("nats: close: %s", exc)
                await self._client.close()
        self._ready.clear()


async def connect_once(
    url: str,
    *,
    name: str,
    timeout: float = 5.0,
    user: str | None = None,
    password: str | None = None,
    token: str | None = None,
) -> Client:
    """A plain connection for tools and tests: fails if the server does not answer within `timeout`."""
    credentials = {k: v for k, v in {"user": user, "password": password, "token": token}.items() if v}
    return await nats.connect(
        servers=[s.strip() for s in url.split(",")],
        name=name,
        connect_timeout=timeout,
        allow_reconnect=False,
        **credentials,  # type: ignore[arg-type]
    )
