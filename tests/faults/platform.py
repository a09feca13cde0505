"""The whole platform as real processes, for breaking it on purpose.

The services run as subprocesses started exactly as `make run` starts them (training_devstack's
Launch registry, `service_env` and `spawn`), on free ports, against infrastructure this module owns:
an embedded PostgreSQL it may restart, a nats-server it may SIGKILL and restart on the same port and
store, and the provincial platform simulator in-process (its fault switch is a method call).
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from training_devstack import secrets as dev_secrets
from training_devstack.embedded import EmbeddedPostgres, NatsServer, free_port
from training_devstack.run import Infrastructure, ensure_databases, service_env, spawn, wait_serving
from training_devstack.services import Launch, installed_services
from training_identity.bootstrap import create_operator
from training_identity.testing import identity_settings
from training_rulebook.testing import suite_document
from training_runtime.clients import client_channel
from training_runtime.migrations import upgrade
from training_supervision_simulator import Simulator
from training_testkit import wait_until
from training_testkit.infra import with_database

SERVICES = ("identity", "courses", "learning", "exams", "certificates", "supervision")
HOST = "127.0.0.1"
OPERATOR_PASSWORD = "Pl@tform#Faults2026"
# Supervision's push tuning: short timeouts and backoff, and a retry budget a long outage outlasts.
PUSH_MAX_ATTEMPTS = 6


def faults_rulebook() -> dict:
    """The test rulebook with six-second class hours, a face check every three to six seconds and a
    heartbeat a second, so a trainee studies a one-hour topic in real time in a few seconds."""
    document = suite_document()
    base = document["versions"][0]
    quick = {
        **base,
        "version": "faults-2026",
        "description": "Fault tests: six-second class hours studied in real time by real processes.",
        "class_hour_minutes": 0.1,
        "face_checks": {**base["face_checks"], "min_interval_minutes": 0.05, "max_interval_minutes": 0.1},
        "heartbeats": {**base["heartbeats"], "interval_seconds": 1, "idle_timeout_seconds": 30},
    }
    return {"name": "faults", "versions": [quick]}


def _overrides(launch: Launch, platform: Platform) -> dict[str, str]:
    p = launch.prefix
    env = {
        f"{p}HEALTH_CHECK_INTERVAL_SECONDS": "0.2",
        f"{p}OUTBOX_POLL_INTERVAL_SECONDS": "0.5",
        f"{p}LOG_FORMAT": "text",
        f"{p}ACCESS_LOG": "errors",
        f"{p}TRACE_SAMPLE_RATIO": "0",
    }
    if launch.name in ("courses", "learning", "exams"):
        env[f"{p}RULEBOOK"] = str(platform.rulebook)
    if launch.name == "identity":
        env |= {
            "IDENTITY_PASSWORD_HASH_TIME_COST": "1",
            "IDENTITY_PASSWORD_HASH_MEMORY_KIB": "1024",
            "IDENTITY_PASSWORD_HASH_PARALLELISM": "1",
            "IDENTITY_FACE_WORKERS": "1",
        }
    if launch.name == "learning":
        env["LEARNING_SWEEP_INTERVAL_SECONDS"] = "1"
    if launch.name == "certificates":
        env["CERTIFICATES_VERIFICATION_URL"] = "https://verify.example.org/verify"
    if launch.name == "supervision":
        env |= {
            "SUPERVISION_PROVINCE_URL": platform.province.url,
            "SUPERVISION_PUSH_BATCH_SIZE": "5",
            "SUPERVISION_PUSH_TIMEOUT_SECONDS": "2",
            "SUPERVISION_PUSH_MAX_ATTEMPTS": str(PUSH_MAX_ATTEMPTS),
            "SUPERVISION_PUSH_BACKOFF_BASE_SECONDS": "0.05",
            "SUPERVISION_PUSH_BACKOFF_MAX_SECONDS": "0.4",
            "SUPERVISION_PUSH_POLL_INTERVAL_SECONDS": "0.05",
        }
    return env


@dataclass
class Service:
    launch: Launch
    port: int
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"


class Platform:
    """Infrastructure and services this test module owns; every fault is a method."""

    def __init__(self, root: Path, logs: Path) -> None:
        self.root = root
        self.logs = logs
        self.postgres = EmbeddedPostgres(root / "postgres", durable=False)
        self.nats = NatsServer(root / "nats" / "store")
        self.secrets = dev_secrets.generate()
        self.province = Simulator(token=self.secrets["province_token"], seed=20261129)
        self.province_certificate = root / "province.pem"
        # Where supervision finds the certificate to trust, as `make run` tells it.
        self.secrets["province_certificate"] = str(self.province_certificate)
        self.rulebook = root / "faults-rulebook.json"
        self.services: dict[str, Service] = {}
        self.operator_login = "operator"
        logs.mkdir(parents=True, exist_ok=True)

    # --- start and stop --------------------------------------------------------------------------
    async def start(self) -> Platform:
        await asyncio.to_thread(self.postgres.start)
        await asyncio.to_thread(self.nats.start)
        await self.province.start()
        self.province_certificate.write_bytes(self.province.certificate_pem)
        self.rulebook.write_text(json.dumps(faults_rulebook(), ensure_ascii=False))
        launches = [launch for launch in installed_services() if launch.name in SERVICES]
        infra = Infrastructure(admin_url=self.postgres.admin_url, nats_url=self.nats.url)
        await ensure_databases(infra.admin_url, launches)
        ports = {launch.name: free_port() for launch in launches}
        for launch in launches:
            env = service_env(launch, infra, self.secrets, HOST, ports) | _overrides(launch, self)
            self.services[launch.name] = Service(launch, ports[launch.name], env, self.logs / f"{launch.name}.log")
        for service in self.services.values():  # one at a time: each runs its own event loop
            await asyncio.to_thread(self._migrate, service)
        identity = identity_settings(
            database_url=self.database_url("identity"), nats_url=self.nats.url, secrets=self.secrets
        )
        await create_operator(identity, self.operator_login, OPERATOR_PASSWORD, "平台运营")
        for service in self.services.values():
            service.process = spawn(service.launch, service.env, service.log)
        await asyncio.gather(*(self.wait_serving(name) for name in self.services))
        return self

    def _migrate(self, service: Service) -> None:
        module = __import__(f"{service.launch.module}.service", fromlist=["MIGRATIONS"])
        upgrade(module.MIGRATIONS, self.database_url(service.launch.name))

    async def stop_postgres(self) -> None:
        await self._postgres("stop")

    async def start_postgres(self) -> None:
        await self._postgres("start")

    async def _postgres(self, action: str) -> None:
        """pg_ctl from a fresh interpreter: as root it runs as PostgreSQL's own user, and forking that
        from this process (gRPC's threads and fork handlers) can crash the child."""
        script = (
            "import sys; from pathlib import Path; from training_devstack.embedded import EmbeddedPostgres; "
            f"getattr(EmbeddedPostgres(Path(sys.argv[1]), port={self.postgres.port}, durable=False), '{action}')()"
        )
        done = await asyncio.create_subprocess_exec(sys.executable, "-c", script, str(self.postgres.data_dir))
        assert await done.wait() == 0, f"PostgreSQL {action} failed"

    def database_url(self, name: str) -> str:
        return with_database(self.postgres.admin_url, f"training_{name}")

    async def stop(self) -> None:
        for service in self.services.values():
            if service.process is not None and service.process.poll() is None:
                service.process.send_signal(signal.SIGTERM)
        for service in self.services.values():
            if service.process is not None:
                try:
                    await asyncio.to_thread(service.process.wait, 30)
                except subprocess.TimeoutExpired:
                    service.process.kill()
        await self.province.stop()
        self.nats.kill()
        self.postgres.destroy()

    # --- services --------------------------------------------------------------------------------
    async def wait_serving(self, name: str) -> None:
        service = self.services[name]
        assert service.process is not None
        await wait_serving(name, service.address, service.process, service.log, timeout=90)

    def kill(self, name: str) -> None:
        """SIGKILL: no shutdown, no last relay pass, no acknowledgement of what is in hand."""
        process = self.services[name].process
        assert process is not None
        process.kill()
        process.wait(10)

    async def terminate(self, name: str) -> int:
        """SIGTERM, and wait for the graceful shutdown to end; the exit status."""
        process = self.services[name].process
        assert process is not None
        process.send_signal(signal.SIGTERM)
        return await asyncio.to_thread(process.wait, 60)

    async def restart(self, name: str) -> None:
        """Start the service again (same port, same settings) and wait until it is SERVING."""
        service = self.services[name]
        assert service.process is not None
        assert service.process.poll() is not None, f"{name} is still running"
        service.process = spawn(service.launch, service.env, service.log)
        await self.wait_serving(name)

    async def health(self, name: str, timeout: float = 1.0) -> str:
        """The service's grpc.health status name (SERVING, NOT_SERVING, ...), or UNREACHABLE."""
        async with grpc.aio.insecure_channel(self.services[name].address) as channel:
            try:
                answer = await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=""), timeout=timeout
                )
            except grpc.aio.AioRpcError:
                return "UNREACHABLE"
        return health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)

    async def watch_health(self, name: str, seen: list[str]) -> None:
        """Append every status grpc.health's Watch reports for `name` to `seen` (run as a task)."""
        async with grpc.aio.insecure_channel(self.services[name].address) as channel:
            stream = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""))
            async for answer in stream:
                seen.append(health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status))

    def channel(self, name: str) -> grpc.aio.Channel:
        """A channel to `name` calling by the documented client policy (training_runtime.clients)."""
        return client_channel(self.services[name].address)

    # --- what the services hold (read after the traffic, to check the ledgers) --------------------
    async def query(self, name: str, sql: str, *args: object) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.database_url(name))
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    async def wait_health(self, expected: dict[str, str], timeout: float = 60) -> None:
        """Until each named service's health is the expected status name."""

        async def states() -> dict[str, str]:
            found = await asyncio.gather(*(self.health(name) for name in expected))
            return dict(zip(expected, found, strict=True))

        async def reached() -> bool:
            return await states() == expected

        try:
            await wait_until(reached, timeout=timeout, what=f"health {expected}")
        except AssertionError as error:
            raise AssertionError(f"{error}; health is {await states()}") from None

    async def all_serving(self) -> None:
        await self.wait_health({name: "SERVING" for name in self.services})
