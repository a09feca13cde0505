"""The service lifecycle on the real identity process: health follows its dependencies, SIGTERM
drains in-flight calls, bad settings stop it at once, reflection lists the API."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from training.identity.v1 import identity_pb2 as pb
from training.identity.v1 import identity_pb2_grpc
from training_devstack.embedded import free_port
from training_devstack.secrets import service_client_list
from training_identity.bootstrap import create_operator
from training_identity.service import IdentityService
from training_identity.testing import OPERATOR_PASSWORD, identity_settings
from training_testkit import running_app, wait_until

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def health(port: int) -> int | None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            answer = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="training.identity.v1.IdentityService"), timeout=2
            )
        except grpc.aio.AioRpcError:
            return None
        return answer.status


async def test_health_is_not_serving_until_nats_answers_then_serving(
    identity_database, nats_factory, platform_secrets
) -> None:
    nats = nats_factory()
    nats.stop()
    settings = identity_settings(database_url=identity_database, nats_url=nats.url, secrets=platform_secrets)
    async with running_app(IdentityService(), settings, wait_serving=False) as app:
        assert await health(app.port) == NOT_SERVING
        await asyncio.sleep(0.5)  # several monitor rounds with NATS still down
        assert await health(app.port) == NOT_SERVING
        nats.start()
        await wait_until(lambda: _is(app.port, SERVING), timeout=20, what="SERVING once NATS answers")
        nats.kill()
        await wait_until(lambda: _is(app.port, NOT_SERVING), timeout=20, what="NOT_SERVING once NATS is gone")


async def test_health_is_not_serving_while_the_database_does_not_answer(nats_server, platform_secrets) -> None:
    unreachable = f"postgresql://postgres@127.0.0.1:{free_port()}/identity"
    settings = identity_settings(database_url=unreachable, nats_url=nats_server.url, secrets=platform_secrets)
    async with running_app(IdentityService(), settings, wait_serving=False) as app:
        await wait_until(lambda: app.context.nats.connected, what="NATS connected")
        await asyncio.sleep(0.5)
        assert await health(app.port) == NOT_SERVING


async def _is(port: int, status: int) -> bool:
    return await health(port) == status


async def test_reflection_lists_the_identity_service(identity_app) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{identity_app.port}") as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        responses = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
        async for response in responses:
            names = {s.name for s in response.list_services_response.service}
            break
    assert "training.identity.v1.IdentityService" in names
    assert "grpc.health.v1.Health" in names


def _env(database_url: str, nats_url: str, secrets: dict[str, str], port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDENTITY_")}
    env.update(
        IDENTITY_DATABASE_URL=database_url,
        IDENTITY_NATS_URL=nats_url,
        IDENTITY_GRPC_HOST="127.0.0.1",
        IDENTITY_GRPC_PORT=str(port),
        IDENTITY_JWT_SIGNING_KEYS=secrets["jwt_signing_keys"],
        IDENTITY_FIELD_ENCRYPTION_KEYS=secrets["field_encryption_keys"],
        IDENTITY_LOOKUP_HASH_KEY=secrets["lookup_hash_key"],
        IDENTITY_SERVICE_CLIENTS=service_client_list(secrets),
        IDENTITY_HEALTH_CHECK_INTERVAL_SECONDS="0.2",
        IDENTITY_LOG_FORMAT="text",
        **extra,
    )
    return env


async def test_sigterm_flips_health_and_lets_an_in_flight_call_finish(
    identity_database, nats_server, platform_secrets
) -> None:
    # An operator whose password hash is deliberately expensive, so a Login is still running when
    # SIGTERM arrives.
    slow = identity_settings(
        database_url=identity_database,
        nats_url=nats_server.url,
        secrets=platform_secrets,
        password_hash_time_cost=6,
        password_hash_memory_kib=256 * 1024,
    )
    await create_operator(slow, "slow-operator", OPERATOR_PASSWORD, "慢速运营")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "training_identity", "serve"],
        env=_env(identity_database, nats_server.url, platform_secrets, port, IDENTITY_SHUTDOWN_GRACE_SECONDS="30"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        await wait_until(lambda: _is(port, SERVING), timeout=30, what="the process to be SERVING")
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            statuses: list[int] = []

            async def watch() -> None:
                request = health_pb2.HealthCheckRequest(service="training.identity.v1.IdentityService")
                try:
                    async for update in health_pb2_grpc.HealthStub(channel).Watch(request):
                        statuses.append(update.status)
                except grpc.aio.AioRpcError:
                    pass

            watcher = asyncio.create_task(watch())
            await wait_until(lambda: statuses == [SERVING], what="the watch to report SERVING")
            login = asyncio.ensure_future(
                identity_pb2_grpc.IdentityServiceStub(channel).Login(
                    pb.LoginRequest(login="slow-operator", password=OPERATOR_PASSWORD), timeout=60
                )
            )
            await asyncio.sleep(0.2)  # the login is now hashing inside the server
            assert not login.done()
            process.send_signal(signal.SIGTERM)
            response = await login
            assert response.tokens.access_token
            await wait_until(lambda: NOT_SERVING in statuses, what="the watch to report NOT_SERVING")
            watcher.cancel()  # an open stream would otherwise hold the server for the whole grace period
            assert await asyncio.to_thread(process.wait, 30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    log = process.stderr.read().decode() if process.stderr else ""
    assert "shutting down" in log
    assert "stopped" in log


def test_missing_settings_stop_the_process_naming_each_variable() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDENTITY_")}
    env["IDENTITY_GRPC_PORT"] = "seventy"
    result = subprocess.run(
        [sys.executable, "-m", "training_identity", "serve"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    for name in ("IDENTITY_DATABASE_URL", "IDENTITY_NATS_URL", "IDENTITY_JWT_SIGNING_KEYS", "IDENTITY_GRPC_PORT"):
        assert name in result.stderr


@pytest.mark.parametrize("variable", ["IDENTITY_JWT_SIGNING_KEYS", "IDENTITY_LOOKUP_HASH_KEY"])
def test_malformed_keys_stop_the_process(variable: str, platform_secrets) -> None:
    env = _env("postgresql://x@127.0.0.1:1/x", "nats://127.0.0.1:1", platform_secrets, 1)
    env[variable] = "not base64 !!"
    result = subprocess.run(
        [sys.executable, "-m", "training_identity", "serve"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert variable in result.stderr
