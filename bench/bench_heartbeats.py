"""Heartbeats per second and their latency: 64 concurrent study sessions against learning (gRPC,
authentication, the crediting rules, PostgreSQL group commit), beside a bare grpc.aio echo server
answering the same messages in the same process, measured seconds apart.

Everything runs on this machine: PostgreSQL (TRAINING_TEST_POSTGRES_URL when it answers, otherwise
an embedded one), a private NATS, identity (real face matching for every session's start check),
courses (a class) and learning. Each session is a closed loop (a heartbeat, its answer, the next)
with positions advancing with the wall clock at 1x, so every interval is judged, and found
VERIFIED, exactly as in production.

Tracing's cost: unary SendHeartbeat saturated with tracing off (nothing sampled) and on at the
recommended ratio (TRACE_SAMPLE_RATIO 0.1, parent-based, BatchSpanProcessor and OTLP/gRPC export to a
stand-in collector), alternated off, on, on, off in the same run. Goal: tracing on loses at most 15%.
Every other figure is measured with tracing on.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import grpc

from bench import tracing
from bench.common import Figure, Report, percentile, sized, sized_int
from training.common.v1 import common_pb2
from training.courses.v1 import courses_pb2_grpc
from training.identity.v1 import identity_pb2 as ipb
from training.identity.v1 import identity_pb2_grpc
from training.learning.v1 import learning_pb2 as pb
from training.learning.v1 import learning_pb2_grpc
from training_courses.service import MIGRATIONS as COURSES_MIGRATIONS
from training_courses.service import CoursesService
from training_courses.settings import CoursesSettings
from training_courses.testing import Campus, service_settings
from training_devstack import secrets as dev_secrets
from training_devstack.embedded import NatsServer
from training_identity.bootstrap import create_operator
from training_identity.service import MIGRATIONS as IDENTITY_MIGRATIONS
from training_identity.service import IdentityService
from training_identity.testing import OPERATOR_PASSWORD, FacePhotos, People, Person, identity_settings
from training_learning.service import MIGRATIONS as LEARNING_MIGRATIONS
from training_learning.service import LearningService
from training_learning.settings import LearningSettings
from training_rulebook.testing import suite_document
from training_runtime.clients import insecure_channel
from training_runtime.migrations import upgrade
from training_runtime.protoconv import timestamp
from training_testkit import PostgresServer, TestDatabases, running_app, wait_until

SESSIONS = sized_int(64, 3)
SCALES = (1, 2, 4)
WARM_UP_SECONDS = sized(1.5, 0.2)
MEASURE_SECONDS = sized(8.0, 0.5)
# The most tracing may cost the unary heartbeat rate.
TRACING_GOAL = 0.85


@dataclass
class Session:
    person: Person
    session_id: str
    sequence: int = 0
    started: float = 0.0


class Echo:
    """A bare grpc.aio server answering SendHeartbeat and StreamHeartbeats with an ack made from
    the request: no authentication, no rules, no database. What gRPC in Python costs here."""

    def __init__(self) -> None:
        self.server = grpc.aio.server()

        def ack(h: pb.Heartbeat) -> pb.HeartbeatAck:
            return pb.HeartbeatAck(session_id=h.session_id, sequence=h.sequence)

        async def unary(
            request: pb.SendHeartbeatRequest, context: grpc.aio.ServicerContext
        ) -> pb.SendHeartbeatResponse:
            return pb.SendHeartbeatResponse(ack=ack(request.heartbeat))

        async def stream(requests, context):  # type: ignore[no-untyped-def]
            async for request in requests:
                yield pb.StreamHeartbeatsResponse(ack=ack(request.heartbeat))

        handler = grpc.method_handlers_generic_handler(
            "training.learning.v1.LearningService",
            {
                "SendHeartbeat": grpc.unary_unary_rpc_method_handler(
                    unary,
                    request_deserializer=pb.SendHeartbeatRequest.FromString,
                    response_serializer=pb.SendHeartbeatResponse.SerializeToString,
                ),
                "StreamHeartbeats": grpc.stream_stream_rpc_method_handler(
                    stream,
                    request_deserializer=pb.StreamHeartbeatsRequest.FromString,
                    response_serializer=pb.StreamHeartbeatsResponse.SerializeToString,
                ),
            },
        )
        self.server.add_generic_rpc_handlers((handler,))
        self.port = self.server.add_insecure_port("127.0.0.1:0")


def heartbeat(s: Session) -> pb.Heartbeat:
    s.sequence += 1
    return pb.Heartbeat(
        session_id=s.session_id,
        sequence=s.sequence,
        position_seconds=time.monotonic() - s.started,
        playback_rate=1.0,
        focused=True,
        client_time=timestamp(datetime.now(UTC)),
    )


@dataclass
class Run:
    rate: float
    p99: float
    reasons: set[str]


async def drive(
    stub: learning_pb2_grpc.LearningServiceStub,
    sessions: list[Session],
    seconds: float,
    *,
    streams: bool,
    per_second: float | None,
) -> Run:
    """Heartbeats on every session for `seconds`: each waits for its answer before the next. With
    `per_second` the sessions together offer that rate (each on its own schedule, staggered);
    without, every session sends as fast as answers come (the saturation rate)."""
    latencies: list[float] = []
    reasons: set[str] = set()
    start = time.monotonic()
    deadline = start + seconds
    interval = len(sessions) / per_second if per_second else 0.0

    async def loop(index: int, s: Session) -> int:
        call = stub.StreamHeartbeats(metadata=s.person.metadata) if streams else None
        sent = 0
        next_at = start + interval * index / len(sessions)
        while True:
            if interval:
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                next_at += interval
            if time.monotonic() >= deadline:
                break
            sent += 1
            t = time.perf_counter()
            if call is not None:
                await call.write(pb.StreamHeartbeatsRequest(heartbeat=heartbeat(s)))
                answer = (await call.read()).ack
            else:
                answer = (
                    await stub.SendHeartbeat(
                        pb.SendHeartbeatRequest(heartbeat=heartbeat(s)), metadata=s.person.metadata
                    )
                ).ack
            latencies.append((time.perf_counter() - t) * 1000)
            reasons.add(answer.reason)
        if call is not None:
            await call.done_writing()
            async for _ in call:
                pass
        return sent

    counts = await asyncio.gather(*(loop(i, s) for i, s in enumerate(sessions)))
    return Run(sum(counts) / seconds, percentile(latencies, 99), reasons)


def bench_rulebook(path: Path) -> str:
    """The test rulebook with random checks far enough apart that none falls due during the run."""
    document = suite_document()
    for version in document["versions"]:
        version["face_checks"].update(min_interval_minutes=20, max_interval_minutes=30)
    path.write_text(json.dumps(document))
    return str(path)


async def set_up(stack: AsyncExitStack, scratch: Path, count: int) -> tuple[grpc.aio.Channel, list[Session]]:
    postgres = PostgresServer.provide(scratch)
    stack.callback(postgres.close)
    databases = TestDatabases(postgres)
    stack.push_async_callback(databases.drop_all)
    nats = NatsServer(scratch / "nats").start()
    stack.callback(nats.stop)
    secrets = dev_secrets.generate()
    urls = {}
    for name, migrations in (
        ("identity", IDENTITY_MIGRATIONS),
        ("courses", COURSES_MIGRATIONS),
        ("learning", LEARNING_MIGRATIONS),
    ):
        urls[name] = await databases.create(f"bench_{name}")
        await asyncio.to_thread(upgrade, migrations, urls[name])
    identity = await stack.enter_async_context(
        running_app(
            IdentityService(),
            identity_settings(
                database_url=urls["identity"], nats_url=nats.url, secrets=secrets, face_workers=2, log_level="WARNING"
            ),
        )
    )
    rulebook = bench_rulebook(scratch / "rulebook.json")
    common = {"nats_url": nats.url, "identity_port": identity.port, "rulebook": rulebook, "log_level": "WARNING"}
    courses = await stack.enter_async_context(
        running_app(
            CoursesService(),
            service_settings(
                CoursesSettings, database_url=urls["courses"], secret=secrets["client_secret_courses"], **common
            ),
        )
    )
    learning = await stack.enter_async_context(
        running_app(
            LearningService(),
            service_settings(
                LearningSettings, database_url=urls["learning"], secret=secrets["client_secret_learning"], **common
            ),
        )
    )
    identity_channel = insecure_channel(f"127.0.0.1:{identity.port}")
    courses_channel = insecure_channel(f"127.0.0.1:{courses.port}")
    learning_channel = insecure_channel(f"127.0.0.1:{learning.port}")
    for channel in (identity_channel, courses_channel, learning_channel):
        stack.push_async_callback(channel.close)

    identity_stub = identity_pb2_grpc.IdentityServiceStub(identity_channel)
    await create_operator(identity.settings, "benchop", OPERATOR_PASSWORD, "平台运营")  # type: ignore[arg-type]
    signed_in = await identity_stub.Login(ipb.LoginRequest(login="benchop", password=OPERATOR_PASSWORD))
    operator = Person(
        user_id=signed_in.user.user_id,
        role=common_pb2.ROLE_OPERATOR,
        token=signed_in.tokens.access_token,
        login="benchop",
    )
    people = People(identity_stub, operator, secrets)
    campus = Campus(courses_pb2_grpc.CoursesServiceStub(courses_channel), people)
    learning_stub = learning_pb2_grpc.LearningServiceStub(learning_channel)
    opened = await campus.open_class(topics=(("law", 1),), lessons=(4 * 3600,))
    lesson_id = opened.lessons()[0].lesson_id
    photos = FacePhotos()
    limit = asyncio.Semaphore(4)

    async def ready(i: int) -> Session:
        async with limit:
            person = await people.enrolled_trainee(photos["obama.jpg"])
            enrollment = await campus.enroll(opened, person)

            async def known() -> bool:
                try:
                    await learning_stub.GetProgress(
                        pb.GetProgressRequest(enrollment_id=enrollment.enrollment_id), metadata=person.metadata
                    )
                except grpc.aio.AioRpcError:
                    return False
                return True

            await wait_until(known, timeout=60, what="learning to know the enrollment")
            started = await learning_stub.StartStudy(
                pb.StartStudyRequest(
                    enrollment_id=enrollment.enrollment_id,
                    lesson_id=lesson_id,
                    device_id=f"bench-device-{i:04d}",
                    face_image=photos["obama2.jpg"],
                    client_time=timestamp(datetime.now(UTC)),
                ),
                metadata=person.metadata,
            )
            return Session(person, started.session.session_id)

    sessions = await asyncio.gather(*(ready(i) for i in range(count)))
    return learning_channel, list(sessions)


async def measure(
    stub: learning_pb2_grpc.LearningServiceStub,
    sessions: list[Session],
    *,
    streams: bool,
    per_second: float | None = None,
) -> Run:
    """One figure after a warm-up; positions restart with the wall clock."""
    now = time.monotonic()
    for s in sessions:
        s.started = now
    await drive(stub, sessions, WARM_UP_SECONDS, streams=streams, per_second=per_second)
    return await drive(stub, sessions, MEASURE_SECONDS, streams=streams, per_second=per_second)


async def run(scale: int) -> Report:
    count = SESSIONS * scale
    async with AsyncExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-heartbeats-")))
        channel, sessions = await set_up(stack, scratch, count)
        learning = learning_pb2_grpc.LearningServiceStub(channel)
        echo = Echo()
        await echo.server.start()
        stack.push_async_callback(echo.server.stop, None)
        echo_channel = insecure_channel(f"127.0.0.1:{echo.port}")
        stack.push_async_callback(echo_channel.close)
        bare = learning_pb2_grpc.LearningServiceStub(echo_channel)
        echo_sessions = [Session(s.person, s.session_id) for s in sessions]

        results: dict[str, Run] = {}
        for streams, shape in ((False, "unary"), (True, "stream")):
            results[f"echo {shape}"] = await measure(bare, echo_sessions, streams=streams)
            results[f"learning {shape}"] = await measure(learning, sessions, streams=streams)
        # Latency at the goal's load: half the bare unary echo rate, offered evenly by all sessions.
        goal_rate = results["echo unary"].rate / 2
        # Tracing off against on, alternated (off, on, on, off) so drift in the machine's load
        # falls on both alike; unary, where every heartbeat has its own server span.
        traced = tracing.install()
        exports_before = traced.collector.exports
        by_mode: dict[bool, list[float]] = {False: [], True: []}
        try:
            for on in (False, True, True, False):
                traced.set(on)
                by_mode[on].append((await measure(learning, sessions, streams=False)).rate)
        finally:
            traced.set(True)
        exports = traced.collector.exports - exports_before
        for streams, shape in ((False, "unary"), (True, "stream")):
            results[f"paced echo {shape}"] = await measure(bare, echo_sessions, streams=streams, per_second=goal_rate)
            results[f"paced learning {shape}"] = await measure(
                learning, sessions, streams=streams, per_second=goal_rate
            )

    traced_rate, untraced_rate = (sum(by_mode[m]) / len(by_mode[m]) for m in (True, False))
    echo_unary, echo_stream = results["echo unary"], results["echo stream"]
    stream, unary = results["learning stream"], results["learning unary"]
    paced = {
        shape: (results[f"paced echo {shape}"], results[f"paced learning {shape}"]) for shape in ("stream", "unary")
    }
    figures = [
        # The goal: the player's path (one stream per session) against a bare unary echo.
        Figure(
            "heartbeats/s, StreamHeartbeats",
            stream.rate,
            "/s",
            "echo unary /s",
            echo_unary.rate,
            goal=">= 0.5x echo",
            met=stream.rate >= echo_unary.rate / 2,
        ),
        Figure(
            f"p99, StreamHeartbeats at {goal_rate:,.0f}/s",
            paced["stream"][1].p99,
            "ms",
            "echo unary p99",
            paced["unary"][0].p99,
            better="lower",
            goal="< 50 ms",
            met=paced["stream"][1].p99 < 50,
        ),
        # Like for like: each RPC shape against an echo of the same shape.
        Figure(
            "heartbeats/s, StreamHeartbeats (like for like)",
            stream.rate,
            "/s",
            "echo stream /s",
            echo_stream.rate,
            goal=">= 0.5x",
            met=stream.rate >= echo_stream.rate / 2,
        ),
        Figure(
            "heartbeats/s, SendHeartbeat (like for like)",
            unary.rate,
            "/s",
            "echo unary /s",
            echo_unary.rate,
            goal=">= 0.5x",
            met=unary.rate >= echo_unary.rate / 2,
        ),
        Figure(
            f"p99, SendHeartbeat at {goal_rate:,.0f}/s",
            paced["unary"][1].p99,
            "ms",
            "echo unary p99",
            paced["unary"][0].p99,
            better="lower",
            goal="< 50 ms",
            met=paced["unary"][1].p99 < 50,
        ),
        Figure("p99, StreamHeartbeats saturated", stream.p99, "ms", "echo stream p99", echo_stream.p99, better="lower"),
        Figure("p99, SendHeartbeat saturated", unary.p99, "ms", "echo unary p99", echo_unary.p99, better="lower"),
        Figure(
            f"heartbeats/s, SendHeartbeat, tracing on (ratio {traced.switch.ratio:g}, OTLP export)",
            traced_rate,
            "/s",
            "tracing off /s",
            untraced_rate,
            goal=f">= {TRACING_GOAL:g}x (loses at most {1 - TRACING_GOAL:.0%})",
            met=traced_rate >= TRACING_GOAL * untraced_rate,
            key="tracing cost",
        ),
    ]
    figures[0].key = "StreamHeartbeats /s vs echo unary"
    figures[3].key = "SendHeartbeat /s vs echo unary"
    figures[1].key = "p99 StreamHeartbeats at half the echo rate"
    figures[6].key = "p99 SendHeartbeat saturated"
    reasons = set().union(*(r.reasons for k, r in results.items() if k.startswith(("learning", "paced learning"))))
    return Report(
        title="Study heartbeats through learning (gRPC, auth, rules, PostgreSQL group commit) vs a bare grpc.aio echo",
        scale=scale,
        figures=figures,
        load=f"{count} study sessions",
        notes=[
            f"{count} concurrent sessions; each waits for its answer before sending the next heartbeat",
            f"saturated: as fast as answers come; paced: {goal_rate:,.0f}/s offered (half the bare unary echo rate)",
            f"{MEASURE_SECONDS:.0f} s measured after {WARM_UP_SECONDS} s of warm-up, for every figure",
            f"learning's verdicts: {', '.join(sorted(reasons))}",
            "client, echo server and services share one Python process; PostgreSQL is a separate process",
            f"tracing: SendHeartbeat saturated {', '.join(f'{r:,.0f}' for r in by_mode[False])}/s off and "
            f"{', '.join(f'{r:,.0f}' for r in by_mode[True])}/s on (order off, on, on, off); the collector "
            f"received {exports} OTLP exports while on",
        ],
    )
