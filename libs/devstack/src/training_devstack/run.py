"""`make run`: the whole platform on this machine, on embedded defaults, with demo data.

PostgreSQL: the server named by TRAINING_DATABASE_URL (an admin URL; one database per service is
created in it), otherwise an embedded one in .run/postgres on TRAINING_DEV_PG_PORT (15432).
NATS: TRAINING_NATS_URL, otherwise an embedded nats-server on TRAINING_DEV_NATS_PORT (14222, so a
NATS already on 4222 is left alone) with its store in .run/nats. Services listen on their standard
ports on TRAINING_BIND_HOST (127.0.0.1). Logs go to .run/logs/<service>.log.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from training_devstack import secrets as dev_secrets
from training_devstack.embedded import EmbeddedPostgres, NatsServer, free_port, port_open
from training_devstack.services import Launch, installed_services
from training_testkit.infra import with_database

OPERATOR_USERNAME = "operator"


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


@dataclass
class Infrastructure:
    admin_url: str
    nats_url: str
    postgres: EmbeddedPostgres | None = None
    nats: NatsServer | None = None

    def stop(self) -> None:
        if self.nats is not None:
            step("stopping the embedded NATS server")
            self.nats.stop()
        if self.postgres is not None:
            step("stopping the embedded PostgreSQL")
            self.postgres.stop()


def _port(variable: str, default: int) -> int:
    value = os.environ.get(variable, str(default))
    if not value.isdigit():
        raise SystemExit(f"{variable} must be a port number, got {value!r}")
    return int(value)


def start_infrastructure(run_dir: Path) -> Infrastructure:
    admin_url = os.environ.get("TRAINING_DATABASE_URL")
    nats_url = os.environ.get("TRAINING_NATS_URL")
    postgres = nats = None
    if admin_url:
        step(f"using PostgreSQL at {admin_url.split('@')[-1]}")
    else:
        port = _port("TRAINING_DEV_PG_PORT", 15432)
        postgres = EmbeddedPostgres(run_dir / "postgres", port=port)
        if not postgres.running() and port_open("127.0.0.1", port):
            raise SystemExit(f"port {port} is taken by another process; set TRAINING_DEV_PG_PORT to a free port")
        step(f"starting embedded PostgreSQL on 127.0.0.1:{port} (data in {postgres.data_dir})")
        postgres.start()
        admin_url = postgres.admin_url
    if nats_url:
        step(f"using NATS at {nats_url}")
    else:
        port = _port("TRAINING_DEV_NATS_PORT", 14222)
        if port_open("127.0.0.1", port):
            fallback = free_port()
            step(f"port {port} is taken; the embedded NATS uses {fallback} instead")
            port = fallback
        nats = NatsServer(run_dir / "nats", port=port)
        step(f"starting embedded NATS with JetStream on 127.0.0.1:{port} (store in {nats.store_dir})")
        nats.start()
        nats_url = nats.url
    return Infrastructure(admin_url=admin_url, nats_url=nats_url, postgres=postgres, nats=nats)


async def ensure_databases(admin_url: str, launches: list[Launch]) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        existing = {r["datname"] for r in await conn.fetch("SELECT datname FROM pg_database")}
        for launch in launches:
            if launch.has_database and launch.database not in existing:
                await conn.execute(f'CREATE DATABASE "{launch.database}"')
    finally:
        await conn.close()


def service_env(
    launch: Launch,
    infra: Infrastructure,
    secrets: dict[str, str],
    host: str,
    ports: Mapping[str, int] | None = None,
) -> dict[str, str]:
    """The environment `launch` runs with; `ports` moves services off their standard ports (tests)."""
    port = {s.name: s.port for s in installed_services()} | dict(ports or {})
    p = launch.prefix
    env = {
        **os.environ,
        f"{p}DATABASE_URL": with_database(infra.admin_url, launch.database),
        f"{p}NATS_URL": infra.nats_url,
        f"{p}GRPC_HOST": host,
        f"{p}GRPC_PORT": str(port[launch.name]),
        f"{p}IDENTITY_URL": f"{host}:{port['identity']}",
        f"{p}LOG_FORMAT": "json",
        # Locally every call is logged and traced; production defaults sample (docs/operations.md).
        f"{p}ACCESS_LOG": "all",
        f"{p}TRACE_SAMPLE_RATIO": "1.0",
        f"{p}SHUTDOWN_GRACE_SECONDS": "5",
        f"{p}HTTP_HOST": host,
    }
    if launch.name == "gateway":  # the gateway calls every service
        for other in installed_services():
            if other.grpc:
                env[f"{p}{other.name.upper()}_URL"] = f"{host}:{port[other.name]}"
    env.update(launch.extra_env(secrets))
    for peer in launch.peers:  # after extra_env: the port map wins over the standard ports
        env[f"{p}{peer.upper()}_URL"] = f"{host}:{port[peer]}"
    return env


def migrate(launch: Launch, env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", launch.module, "migrate"], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"migrating {launch.name} failed:\n{result.stderr[-3000:]}")


def spawn(launch: Launch, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start `launch`'s `serve` command with `env`, appending its output to `log`."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", launch.module, "serve"], env=env, stdout=out, stderr=subprocess.STDOUT
        )


async def wait_serving(
    name: str, address: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    # Retry the connection often: gRPC's default reconnect backoff grows to minutes while a slow
    # machine is still starting the service.
    options = [("grpc.initial_reconnect_backoff_ms", 100), ("grpc.max_reconnect_backoff_ms", 1000)]
    async with grpc.aio.insecure_channel(address, options=options) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"{name} exited with {process.returncode}; see {log}")
            try:
                response = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
                if response.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit(f"{name} did not become SERVING within {timeout:.0f}s; see {log}")


async def wait_ready_http(
    name: str, url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60
) -> None:
    """Poll an HTTP readiness endpoint until it answers 200."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"{name} exited with {process.returncode}; see {log}")
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit(f"{name} was not ready within {timeout:.0f}s; see {log}")


async def wait_listening(
    name: str, host: str, port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 30
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited with {process.returncode}; see {log}")
        if port_open(host, port):
            return
        await asyncio.sleep(0.2)
    raise SystemExit(f"{name} did not listen on {host}:{port} within {timeout:.0f}s; see {log}")


def create_operator(env: dict[str, str], password: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "training_identity", "create-operator", "--username", OPERATOR_USERNAME],
        env={**env, "OPERATOR_PASSWORD": password},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"creating the operator failed:\n{result.stderr[-2000:]}")


async def run_platform(run_dir: Path, *, demo: bool) -> int:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "logs").mkdir(exist_ok=True)
    secrets = dev_secrets.load_or_create(run_dir / "secrets.json")
    secrets.setdefault("operator_password", "")
    if not secrets["operator_password"]:
        secrets["operator_password"] = "Op-" + dev_secrets.new_key()[:16]
        (run_dir / "secrets.json").write_text(json.dumps(secrets, indent=2))
    # Not a secret: where the provincial platform simulator writes the certificate supervision trusts.
    secrets["province_certificate"] = str(run_dir / "province-simulator.pem")
    host = os.environ.get("TRAINING_BIND_HOST", "127.0.0.1")
    launches = installed_services()
    for launch in launches:
        if port_open(host, launch.port):
            raise SystemExit(f"port {launch.port} for {launch.name} is taken; is the platform already running?")
    infra = start_infrastructure(run_dir)
    processes: list[tuple[Launch, subprocess.Popen[bytes]]] = []
    try:
        step("creating databases")
        await ensure_databases(infra.admin_url, launches)
        for launch in launches:
            env = service_env(launch, infra, secrets, host)
            if launch.has_database:
                step(f"migrating {launch.name}")
                await asyncio.to_thread(migrate, launch, env)
            log = run_dir / "logs" / f"{launch.name}.log"
            step(f"starting {launch.name} on {host}:{launch.port} (log {log})")
            process = spawn(launch, env, log)
            processes.append((launch, process))
            if launch.grpc:
                await wait_serving(launch.name, f"{host}:{launch.port}", process, log)
            else:
                if launch.readiness_path:
                    url = f"http://{host}:{launch.port}{launch.readiness_path}"
                    await wait_ready_http(launch.name, url, process, log)
                else:
                    await wait_listening(launch.name, host, launch.port, process, log)
            if launch.name == "identity":
                create_operator(env, secrets["operator_password"])
        summary = []
        if demo:
            from training_devstack.demo import seed

            step("seeding demo data")
            summary = await seed(host, secrets)
        print_summary(host, infra, launches, secrets, summary, run_dir)
        await wait_for_signal([p for _, p in processes])
        return 0
    finally:
        for launch, process in reversed(processes):
            if process.poll() is None:
                step(f"stopping {launch.name}")
                process.send_signal(signal.SIGTERM)
        for _, process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        infra.stop()


async def wait_for_signal(processes: list[subprocess.Popen[bytes]]) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    while not stop.is_set():
        for process in processes:
            if process.poll() is not None:
                step(f"a service exited unexpectedly ({process.args[2]}, status {process.returncode}); stopping")
                return
        try:
            await asyncio.wait_for(stop.wait(), 1.0)
        except TimeoutError:
            pass


def print_summary(
    host: str,
    infra: Infrastructure,
    launches: list[Launch],
    secrets: dict[str, str],
    demo_lines: list[str],
    run_dir: Path,
) -> None:
    lines = ["", "The platform is running. Press Ctrl-C to stop.", ""]
    for launch in launches:
        scheme = "grpc" if launch.grpc else "http" if launch.readiness_path else "https"
        lines.append(f"  {launch.name:<18} {scheme}://{host}:{launch.port}")
    lines += [
        f"  {'postgresql':<18} {infra.admin_url}",
        f"  {'nats':<18} {infra.nats_url}",
        "",
        f"Operator login: {OPERATOR_USERNAME} / {secrets['operator_password']}  (stored in {run_dir / 'secrets.json'})",
        "Try:",
        f"  grpcurl -plaintext {host}:50051 list",
        f'  grpcurl -plaintext -d \'{{"login":"{OPERATOR_USERNAME}","password":"{secrets["operator_password"]}"}}\' '
        f"{host}:50051 training.identity.v1.IdentityService/Login",
    ]
    lines += demo_lines
    gateway = next((launch for launch in launches if launch.name == "gateway"), None)
    if gateway is not None:
        lines += [
            "",
            f"Open the trainee web app: http://{host}:{gateway.port}/  (API: http://{host}:{gateway.port}/docs)",
            "  sign in as the demo trainee, give face consent, enroll your face from the camera, then study.",
        ]
    print("\n".join(lines), flush=True)
