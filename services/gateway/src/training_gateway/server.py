"""Serving the gateway with uvicorn: telemetry and logs like every service, and a graceful shutdown.

On SIGTERM or SIGINT the gateway first reports not ready (`/readyz` answers 503) for the drain delay
so load balancers stop sending traffic, then stops accepting connections, lets requests in flight
finish within the grace period, closes its channels and flushes telemetry.
"""

from __future__ import annotations

import asyncio
import logging
from types import FrameType

import uvicorn
from fastapi import FastAPI

from training_gateway.app import create_app
from training_gateway.settings import GatewaySettings
from training_runtime.telemetry import flush_telemetry, setup_telemetry

log = logging.getLogger(__name__)


class GracefulServer(uvicorn.Server):
    """uvicorn, with readiness turned off (and a drain delay) before it stops accepting."""

    def __init__(self, config: uvicorn.Config, app: FastAPI, drain_delay: float) -> None:
        super().__init__(config)
        self._app = app
        self._drain_delay = drain_delay
        self._loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets=None) -> None:  # type: ignore[no-untyped-def]
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._app.state.draining or not self._drain_delay or self._loop is None:
            self._app.state.draining = True
            super().handle_exit(sig, frame)
            return
        log.info("gateway draining for %.1fs before shutting down", self._drain_delay)
        self._app.state.draining = True
        self._loop.call_soon_threadsafe(self._loop.call_later, self._drain_delay, super().handle_exit, sig, frame)


def build_server(settings: GatewaySettings, *, server_class: type[GracefulServer] = GracefulServer) -> GracefulServer:
    setup_telemetry("gateway", otlp_endpoint=settings.otlp_endpoint, sample_ratio=settings.trace_sample_ratio)
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,  # the process's JSON logging, with trace ids
        access_log=False,  # the gateway's own access log has the route and trace id
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
        proxy_headers=settings.trust_forwarded_for,
        server_header=False,
    )
    return server_class(config, app, settings.shutdown_drain_delay_seconds)


async def serve(settings: GatewaySettings) -> None:
    server = build_server(settings)
    try:
        await server.serve()
    finally:
        flush_telemetry()
