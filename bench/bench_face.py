"""Face verification throughput: VerifyFace through identity's gRPC API against the raw matching
pipeline, on the same photos, the same number of worker processes, in the same run.

The raw figure is what the matcher alone does (decode, detect, embed, compare in a pool of
`IDENTITY_FACE_WORKERS` processes, no network, no database). The service figure adds everything a
real check costs: gRPC, the token check, the trainee and baseline look-ups, decrypting the baseline,
encrypting and storing the snapshot, the face-check row, the access-log row and the outbox event.
Goal: the service keeps at least 80% of the raw rate. The probes are the test photographs scaled to
webcam size (640 px), as a browser would send them.

Starts its own PostgreSQL (TRAINING_TEST_POSTGRES_URL when it answers, else an embedded one) and a
private nats-server; runs identity in this process.
"""

from __future__ import annotations

import asyncio
import io
import tempfile
import time
import uuid
from pathlib import Path

from PIL import Image

from bench.common import Figure, Report, median, percentile, sized_int
from training.identity.v1 import identity_pb2 as pb
from training.identity.v1 import identity_pb2_grpc
from training_devstack import secrets as dev_secrets
from training_devstack.embedded import NatsServer
from training_identity.bootstrap import create_operator
from training_identity.face.dlib_matcher import DlibMatcher
from training_identity.service import MIGRATIONS, IdentityService, face_pipeline_options
from training_identity.testing import (
    OPERATOR_PASSWORD,
    FacePhotos,
    People,
    Person,
    identity_settings,
    migrated_database,
)
from training_runtime.clients import insecure_channel
from training_testkit import running_app
from training_testkit.infra import PostgresServer, TestDatabases

WORKERS = 2
# Requests in flight at once: enough to keep every worker busy while others wait on the database.
CONCURRENCY = sized_int(8, 2)
PROBES = ["obama2.jpg", "obama3.jpg", "obama_small.jpg", "obama_partial_face.jpg", "biden.jpg", "biden2.jpg"]
# Short rounds, alternated: on a machine shared with other work the load drifts, and a raw round and
# the service round right after it see nearly the same drift. The ratio is the median of the pairs.
PER_ROUND = sized_int(24, 2)
ROUNDS = sized_int(6, 1)


def webcam_frame(photo: bytes, side: int = 640) -> bytes:
    picture = Image.open(io.BytesIO(photo)).convert("RGB")
    picture.thumbnail((side, side))
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=85)
    return out.getvalue()


async def drive(count: int, call) -> tuple[float, list[float]]:  # type: ignore[no-untyped-def]
    """Run `call(i)` for i < count with CONCURRENCY in flight; return (calls per second, latencies)."""
    latencies: list[float] = []
    next_index = iter(range(count))

    async def worker() -> None:
        for i in next_index:
            started = time.perf_counter()
            await call(i)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return count / (time.perf_counter() - started), latencies


class LoopLag:
    """The worst delay of a 10 ms timer: shows whether anything blocked the event loop."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.01)
            self.worst = max(self.worst, time.perf_counter() - started - 0.01)

    def __enter__(self) -> LoopLag:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def run(scale: int) -> Report:
    count = PER_ROUND * scale
    photos = FacePhotos()
    probes = [webcam_frame(photos[name]) for name in PROBES]
    secrets = dev_secrets.generate()
    with tempfile.TemporaryDirectory(prefix="bench-face-") as scratch:
        postgres = await asyncio.to_thread(PostgresServer.provide, Path(scratch))
        nats = await asyncio.to_thread(NatsServer(Path(scratch) / "nats").start)
        databases = TestDatabases(postgres)
        try:
            url = await migrated_database(databases, "bench_identity", MIGRATIONS)
            settings = identity_settings(
                database_url=url,
                nats_url=nats.url,
                secrets=secrets,
                face_workers=WORKERS,
                log_level="WARNING",
            )
            raw = DlibMatcher(face_pipeline_options(settings), workers=WORKERS)
            async with running_app(IdentityService(), settings) as app:
                channel = insecure_channel(f"127.0.0.1:{app.port}")
                stub = identity_pb2_grpc.IdentityServiceStub(channel)
                username = f"op{uuid.uuid4().hex[:8]}"
                await create_operator(settings, username, OPERATOR_PASSWORD, "平台运营")
                signed_in = await stub.Login(pb.LoginRequest(login=username, password=OPERATOR_PASSWORD))
                operator = Person(signed_in.user.user_id, signed_in.user.role, signed_in.tokens.access_token, username)
                people = People(stub, operator, secrets)
                trainee = await people.enrolled_trainee(photos["obama.jpg"])
                service = await people.service("learning")
                baseline = (await raw.analyse(photos["obama.jpg"])).embedding
                assert baseline is not None

                async def raw_check(i: int) -> None:
                    analysis = await raw.analyse(probes[i % len(probes)])
                    if analysis.embedding is not None:
                        raw.distance(baseline, analysis.embedding)

                async def service_check(i: int) -> None:
                    await stub.VerifyFace(
                        pb.VerifyFaceRequest(
                            user_id=trainee.user_id,
                            image=probes[i % len(probes)],
                            purpose=pb.FACE_CHECK_PURPOSE_STUDY_RANDOM,
                            context_ref="bench",
                        ),
                        metadata=service.metadata,
                    )

                # Warm both pools (models loaded in every worker) before anything is timed.
                await raw.warm_up()
                await drive(CONCURRENCY, raw_check)
                await drive(CONCURRENCY, service_check)
                raw_rates, service_rates, raw_latency, service_latency = [], [], [], []
                with LoopLag() as lag:
                    # Alternate so drift on a shared machine hits both sides alike.
                    for _ in range(ROUNDS):
                        rate, latencies = await drive(count, raw_check)
                        raw_rates.append(rate)
                        raw_latency += latencies
                        rate, latencies = await drive(count, service_check)
                        service_rates.append(rate)
                        service_latency += latencies
                await channel.close()
                await raw.close()
        finally:
            await databases.drop_all()
            nats.stop()
            postgres.close()

    raw_rate, service_rate = median(raw_rates), median(service_rates)
    pair_ratio = median([svc / raw for raw, svc in zip(raw_rates, service_rates, strict=True)])
    return Report(
        title="Face verification: VerifyFace over gRPC vs the raw matching pipeline",
        scale=scale,
        figures=[
            Figure(
                "VerifyFace throughput",
                service_rate,
                "checks/s",
                baseline_name="raw pipeline",
                baseline_value=raw_rate,
            ),
            Figure(
                "VerifyFace / raw, median of paired rounds",
                pair_ratio * 100,
                "%",
                goal=">= 80%",
                met=pair_ratio >= 0.8,
            ),
            Figure(
                "VerifyFace latency p50",
                median(service_latency) * 1000,
                "ms",
                baseline_name="raw p50",
                baseline_value=median(raw_latency) * 1000,
                better="lower",
            ),
            Figure(
                "VerifyFace latency p95",
                percentile(service_latency, 95) * 1000,
                "ms",
                baseline_name="raw p95",
                baseline_value=percentile(raw_latency, 95) * 1000,
                better="lower",
            ),
            Figure("event-loop worst delay", lag.worst * 1000, "ms"),
        ],
        notes=[
            f"{WORKERS} face workers on each side, {CONCURRENCY} requests in flight, "
            f"{ROUNDS} alternating pairs of rounds of {count} checks each; rates are the medians of the rounds",
            f"probes: {len(PROBES)} test photographs scaled to 640 px JPEG "
            f"({sum(map(len, probes)) // len(probes) // 1024} KiB on average)",
            f"raw rounds {', '.join(f'{r:.1f}' for r in raw_rates)}; "
            f"service rounds {', '.join(f'{r:.1f}' for r in service_rates)} checks/s",
        ],
    )
