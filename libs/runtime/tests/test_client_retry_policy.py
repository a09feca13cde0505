"""The client retry policy carries a client through a server's restart without a failed call.

gRPC's server answers CANCELLED (not UNAVAILABLE) to calls it had received but not yet handed to a
handler when it shuts down (grpc/grpc#41785). A busy server's event loop leaves such calls waiting,
so a rolling restart under load hands some clients CANCELLED for calls that never ran; the policy
retries them like UNAVAILABLE.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from training_devstack.embedded import free_port
from training_runtime.clients import client_channel
from training_testkit import wait_until

CALLERS = 50
RESTARTS = 8


async def _server(port: int) -> grpc.aio.Server:
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    return server


async def test_a_client_on_the_policy_sees_no_failed_call_while_a_busy_server_restarts() -> None:
    port = free_port()
    server = await _server(port)
    channel = client_channel(f"127.0.0.1:{port}")
    stub = health_pb2_grpc.HealthStub(channel)
    outcomes: Counter[str] = Counter()
    done = asyncio.Event()

    async def keep_calling() -> None:
        while not done.is_set():
            try:
                await stub.Check(health_pb2.HealthCheckRequest(), timeout=20)
                outcomes["OK"] += 1
            except grpc.aio.AioRpcError as error:
                outcomes[error.code().name] += 1

    callers = [asyncio.create_task(keep_calling()) for _ in range(CALLERS)]
    try:
        for _ in range(RESTARTS):
            answered = outcomes["OK"]
            await wait_until(lambda answered=answered: outcomes["OK"] >= answered + CALLERS, what="calls answered")
            # The server's event loop is busy for a moment (as under load), so calls that arrive
            # meanwhile wait in gRPC's queue, unclaimed by a handler, when the shutdown begins.
            time.sleep(0.05)
            await server.stop(5)
            server = await _server(port)
        answered = outcomes["OK"]
        await wait_until(lambda: outcomes["OK"] >= answered + CALLERS, what="calls answered after the last restart")
    finally:
        done.set()
        await asyncio.gather(*callers)
        await server.stop(1)
        await channel.close()
    failed = {code: n for code, n in outcomes.items() if code != "OK"}
    assert failed == {}, f"calls failed across {RESTARTS} restarts: {failed} ({outcomes['OK']} answered)"
