"""`ServiceApp`: one gRPC service process, from start-up to graceful shutdown.

Start-up never waits for dependencies: the server listens at once with health NOT_SERVING, connects
to NATS in the background (provisioning streams when it answers), and a monitor flips health to
SERVING while both PostgreSQL and NATS answer and back to NOT_SERVING when either stops. The health
service name `liveness` answers SERVING from start-up until shutdown whatever the dependencies do:
it is what liveness and startup probes ask, so a database outage takes pods out of load balancing
(readiness) without restarting them.

Shutdown (SIGTERM): health goes NOT_SERVING, consumers finish the batch in hand and stop, the server
stops accepting calls and lets in-flight ones finish within the grace period, the outbox relay makes
a last pass, NATS is drained, the database pool closed and telemetry flushed.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import grpc
from google.protobuf import descriptor_pool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection
from opentelemetry import metrics

from training_events import (
    ConsumerRunner,
    ConsumerSpec,
    NatsConnection,
    OutboxRelay,
    ensure_streams,
    stream_for_context,
)
from training_events.streams import dead_letter_stream
from training_runtime.auth.policy import AccessPolicy
from training_runtime.auth.tokens import KeySource, TokenVerifier
from training_runtime.clients import ServiceClients
from training_runtime.clock import Clock, SystemClock
from training_runtime.db import Database, UnitOfWork
from training_runtime.server.interceptors import ServiceInterceptor
from training_runtime.settings import ServiceSettings
from training_runtime.telemetry import flush_telemetry, setup_telemetry

log = logging.getLogger(__name__)

# Apps running in this process (one in production, several in tests), read by the metric callbacks.
_RUNNING: weakref.WeakSet[ServiceApp] = weakref.WeakSet()
_instruments_ready = False


def _ensure_instruments() -> None:
    """Register the event-backbone gauges once per process; they report every running app."""
    global _instruments_ready
    if _instruments_ready:
        return
    _instruments_ready = True
    meter = metrics.get_meter("training_runtime.events")

    def per_app(value: Callable[[ServiceApp], float]) -> Callable[[object], list[metrics.Observation]]:
        def callback(_options: object) -> list[metrics.Observation]:
            return [
                metrics.Observation(value(app), {"service": app.definition.name})
                for app in list(_RUNNING)
                if app.context is not None
            ]

        return callback

    def per_consumer(value: Callable[[ConsumerRunner], float]) -> Callable[[object], list[metrics.Observation]]:
        def callback(_options: object) -> list[metrics.Observation]:
            return [
                metrics.Observation(value(runner), {"service": app.definition.name, "consumer": runner.spec.durable})
                for app in list(_RUNNING)
                for runner in app._runners
            ]

        return callback

    meter.create_observable_gauge(
        "outbox.backlog",
        [per_app(lambda a: a.context.relay.stats.backlog)],
        description="Events waiting to be published",
    )
    meter.create_observable_gauge(
        "outbox.oldest_age",
        [per_app(lambda a: a.context.relay.stats.oldest_age_seconds)],
        unit="s",
        description="Age of the oldest unpublished event",
    )
    meter.create_observable_gauge(
        "consumer.lag", [per_consumer(lambda r: r.stats.pending)], description="Events not yet processed by a consumer"
    )
    meter.create_observable_counter(
        "consumer.dead_lettered",
        [per_consumer(lambda r: r.stats.dead_lettered_total)],
        description="Events sent to the dead-letter subject",
    )


SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
# The health service name that reports only that the process answers (see the module docstring).
LIVENESS = "liveness"


@dataclass
class ServiceContext:
    """Everything a service's wiring may use; built once per process by `ServiceApp`."""

    name: str
    settings: ServiceSettings
    clock: Clock
    database: Database
    uow: UnitOfWork
    nats: NatsConnection
    relay: OutboxRelay
    clients: ServiceClients
    # Set when shutdown begins: long-lived streaming handlers should finish their current message
    # and end, so the server's grace period is spent on unary calls in flight.
    shutting_down: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Wiring:
    """What a service plugs into the app: its servicers, consumers and background jobs."""

    register: Callable[[grpc.aio.Server], None]
    consumers: Sequence[ConsumerSpec] = ()
    # Long-running coroutines (deadline sweepers, retention jobs); cancelled at shutdown.
    background: Sequence[Callable[[], Awaitable[None]]] = ()
    # Token-verification keys; None means "fetch from identity".
    key_source: KeySource | None = None
    # Called at the end of shutdown (close pools, worker processes).
    on_stop: Sequence[Callable[[], Awaitable[None]]] = ()


class ServiceDefinition(Protocol):
    name: str  # the context name: "identity"
    grpc_service: str  # "training.identity.v1.IdentityService"
    policy: AccessPolicy
    # Contexts whose streams this service consumes (their streams are ensured at start-up).
    consumes: Sequence[str]

    def wire(self, ctx: ServiceContext) -> Wiring: ...


@dataclass
class _Tasks:
    relay: asyncio.Task[None] | None = None
    consumers: list[asyncio.Task[None]] = field(default_factory=list)
    others: list[asyncio.Task[None]] = field(default_factory=list)


class ServiceApp:
    def __init__(self, definition: ServiceDefinition, settings: ServiceSettings, *, clock: Clock | None = None) -> None:
        self.definition = definition
        self.settings = settings
        self.clock = clock or SystemClock()
        self.health = HealthServicer()
        self.port: int | None = None
        self.serving = False
        self._server: grpc.aio.Server | None = None
        self._tasks = _Tasks()
        self._runners: list[ConsumerRunner] = []
        self._wiring: Wiring | None = None
        self._stopping = False
        self._stopped = asyncio.Event()
        self.context: ServiceContext | None = None

    async def start(self) -> None:
        s = self.settings
        name = self.definition.name
        setup_telemetry(name, otlp_endpoint=s.otlp_endpoint, sample_ratio=s.trace_sample_ratio)
        database = Database(s.database_url, pool_size=s.database_pool_size, application_name=f"training-{name}")
        nats = NatsConnection(
            s.nats_url,
            name=f"training-{name}",
            user=s.nats_user,
            password=s.nats_password.get_secret_value() if s.nats_password else None,
            token=s.nats_token.get_secret_value() if s.nats_token else None,
            on_connect=self._provision_streams,
        )
        relay = OutboxRelay(
            database.engine,
            nats,
            batch_size=s.outbox_batch_size,
            poll_interval_seconds=s.outbox_poll_interval_seconds,
            retention_hours=s.outbox_retention_hours,
        )
        clients = ServiceClients(
            service_name=name,
            identity_url=s.identity_url,
            client_secret=s.service_client_secret.get_secret_value() if s.service_client_secret else None,
        )
        self.context = ServiceContext(
            name=name,
            settings=s,
            clock=self.clock,
            database=database,
            uow=UnitOfWork(database, source=name, clock=self.clock),
            nats=nats,
            relay=relay,
            clients=clients,
        )
        wiring = self.definition.wire(self.context)
        self._wiring = wiring
        policy = self.definition.policy
        for service in policy.services:
            methods = descriptor_pool.Default().FindServiceByName(service).methods
            policy.check_complete((m.name for m in methods), service=service)

        verifier = TokenVerifier(wiring.key_source or clients.key_set())
        server = grpc.aio.server(
            interceptors=[
                ServiceInterceptor(
                    service=name,
                    policy=self.definition.policy,
                    verifier=verifier,
                    access_log=s.access_log,
                    access_log_slow_ms=s.access_log_slow_ms,
                ),
            ],
            options=[
                ("grpc.max_receive_message_length", s.grpc_max_message_bytes),
                ("grpc.max_send_message_length", s.grpc_max_message_bytes),
                ("grpc.so_reuseport", 0),
            ],
        )
        wiring.register(server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        reflection.enable_server_reflection(
            [
                *policy.services,
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                reflection.SERVICE_NAME,
            ],
            server,
        )
        await self._set_health(NOT_SERVING)
        await self.health.set(LIVENESS, SERVING)
        self.port = server.add_insecure_port(f"{s.grpc_host}:{s.grpc_port}")
        if self.port == 0:
            raise RuntimeError(f"could not listen on {s.grpc_host}:{s.grpc_port}")
        await server.start()
        self._server = server
        log.info("%s listening on %s:%d (health NOT_SERVING until dependencies answer)", name, s.grpc_host, self.port)

        nats.start()
        self._tasks.relay = asyncio.create_task(relay.run(), name=f"{name}-outbox-relay")
        for spec in wiring.consumers:
            runner = ConsumerRunner(spec, nats, database.engine.begin, publisher=name)
            self._runners.append(runner)
            self._tasks.consumers.append(asyncio.create_task(runner.run(), name=f"consumer-{spec.durable}"))
        self._tasks.others.append(asyncio.create_task(self._monitor_health(), name=f"{name}-health"))
        for job in wiring.background:
            self._tasks.others.append(asyncio.create_task(self._supervise(job), name=f"{name}-{job.__name__}"))
        _RUNNING.add(self)
        _ensure_instruments()

    async def _provision_streams(self, js: object) -> None:
        replicas = self.settings.nats_stream_replicas
        contexts = [self.definition.name, *self.definition.consumes]
        specs = [stream_for_context(c, replicas=replicas) for c in contexts] + [dead_letter_stream(replicas=replicas)]
        await ensure_streams(js, specs)  # type: ignore[arg-type]

    async def _set_health(self, status: int) -> None:
        await self.health.set("", status)
        await self.health.set(self.definition.grpc_service, status)

    async def _monitor_health(self) -> None:
        assert self.context is not None
        while not self._stopping:
            db_ok = await self.context.database.ping()
            nats_ok = self.context.nats.connected
            serving = db_ok and nats_ok
            if serving != self.serving and not self._stopping:
                self.serving = serving
                await self._set_health(SERVING if serving else NOT_SERVING)
                if serving:
                    log.info("%s is SERVING", self.definition.name)
                else:
                    log.warning(
                        "%s is NOT_SERVING: database %s, NATS %s",
                        self.definition.name,
                        "ok" if db_ok else "unreachable",
                        "ok" if nats_ok else "unreachable",
                    )
            await asyncio.sleep(self.settings.health_check_interval_seconds)

    async def _supervise(self, job: Callable[[], Awaitable[None]]) -> None:
        """Keep a background job alive: log and restart it if it fails."""
        while not self._stopping:
            try:
                await job()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background job %s failed; restarting in 1s", getattr(job, "__name__", job))
                await asyncio.sleep(1.0)

    async def stop(self, grace: float | None = None) -> None:
        if self._stopping:
            await self._stopped.wait()
            return
        self._stopping = True
        grace = self.settings.shutdown_grace_seconds if grace is None else grace
        name = self.definition.name
        log.info("%s shutting down (grace %.1fs)", name, grace)
        await self.health.enter_graceful_shutdown()
        self.serving = False
        if self.context is not None:
            self.context.shutting_down.set()
        if self.settings.shutdown_drain_delay_seconds:
            await asyncio.sleep(self.settings.shutdown_drain_delay_seconds)
        for runner in self._runners:
            runner.stop()
        if self._server is not None:
            await self._server.stop(grace)
        await self._wait(self._tasks.consumers, timeout=grace)
        if self.context is not None:
            self.context.relay.stop()
        if self._tasks.relay is not None:
            await self._wait([self._tasks.relay], timeout=grace)
        for task in self._tasks.others:
            task.cancel()
        await self._wait(self._tasks.others, timeout=5)
        if self._wiring is not None:
            for hook in self._wiring.on_stop:
                try:
                    await hook()
                except Exception:
                    log.exception("shutdown hook failed")
        if self.context is not None:
            await self.context.nats.close()
            await self.context.clients.close()
            await self.context.database.dispose()
        flush_telemetry()
        _RUNNING.discard(self)
        log.info("%s stopped", name)
        self._stopped.set()

    @staticmethod
    async def _wait(tasks: list[asyncio.Task[None]], *, timeout: float) -> None:
        if not tasks:
            return
        done, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=2)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                log.error("task %s ended with %r", task.get_name(), task.exception())

    async def wait_stopped(self) -> None:
        await self._stopped.wait()
