"""The `liveness` health service: it tells the kubelet the process answers, independently of the
dependencies that readiness (service "" and the full service name) waits for."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from training_devstack.embedded import free_port
from training_identity.service import IdentityService
from training_identity.testing import identity_settings
from training_runtime.clients import insecure_channel
from training_runtime.server.app import LIVENESS
from training_testkit import running_app

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def health_of(channel: grpc.aio.Channel, service: str) -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    response = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
    return response.status


async def test_liveness_is_serving_while_database_and_nats_are_unreachable(platform_secrets: dict[str, str]) -> None:
    nowhere = free_port()
    settings = identity_settings(
        database_url=f"postgresql://nobody@127.0.0.1:{nowhere}/nothing",
        nats_url=f"nats://127.0.0.1:{nowhere}",
        secrets=platform_secrets,
    )
    async with running_app(IdentityService(), settings, wait_serving=False) as app:
        channel = insecure_channel(f"127.0.0.1:{app.port}")
        try:
            assert await health_of(channel, LIVENESS) == SERVING
            assert await health_of(channel, "") == NOT_SERVING
            assert await health_of(channel, "training.identity.v1.IdentityService") == NOT_SERVING
        finally:
            await channel.close()


async def test_liveness_and_readiness_are_serving_when_dependencies_answer(identity_app, identity_channel) -> None:
    assert await health_of(identity_channel, LIVENESS) == SERVING
    assert await health_of(identity_channel, "") == SERVING
