"""Certificates end to end, and public verification.

Pipeline: 250 class completions with passed final exams (x scale) go onto the real JetStream streams
as learning and exams publish them; certificates issues and signs each (asking identity for the
trainee's name and ID number), publishes `certificate.issued`, and supervision pushes the records to
the provincial platform simulator over HTTPS. Figures: certificates per second from the first
completion published to the last certificate record acknowledged by the simulator, and the p99 from
an enrollment's last event (its completion or its exam, whichever was published later) to the
simulator's acknowledgement of its certificate record: in the burst (where it is mostly queueing
behind the others) and for 200 more enrollments paced at 20 a second (what one trainee waits when
the system keeps up).

Verification: closed-loop public VerifyCertificate calls (serial number and code, no account) over
the issued certificates, beside a bare grpc.aio echo server answering the same messages in the same
process, measured seconds apart. Goal: at least 70% of the echo rate.

Everything runs on this machine and in this process (services, simulator, clients); PostgreSQL and
NATS are separate processes.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path

import grpc

from bench.common import Figure, Report, percentile, sized, sized_int
from training.certificates.v1 import certificates_pb2 as cpb
from training.certificates.v1 import certificates_pb2_grpc
from training.common.v1 import common_pb2
from training.identity.v1 import identity_pb2 as ipb
from training.identity.v1 import identity_pb2_grpc
from training_certificates.service import MIGRATIONS as CERTIFICATES_MIGRATIONS
from training_certificates.service import CertificatesService
from training_certificates.settings import CertificatesSettings
from training_certificates.testing import Graduate, certificates_settings
from training_devstack import secrets as dev_secrets
from training_devstack.embedded import NatsServer
from training_identity.bootstrap import create_operator
from training_identity.service import MIGRATIONS as IDENTITY_MIGRATIONS
from training_identity.service import IdentityService
from training_identity.testing import OPERATOR_PASSWORD, People, Person, identity_settings
from training_runtime.clients import insecure_channel
from training_runtime.migrations import upgrade
from training_supervision.service import MIGRATIONS as SUPERVISION_MIGRATIONS
from training_supervision.service import SupervisionService
from training_supervision.testing import PROVINCE_TOKEN, supervision_settings
from training_supervision_simulator import Simulator
from training_testkit import PostgresServer, TestDatabases, running_app, wait_until
from training_testkit.streams import EventPublisher

# Completions at load x1; `make bench` runs x1, x2 and x4 (x4: the 1,000-enrollment burst).
COMPLETIONS = sized_int(250, 4)
SCALES = (1, 2, 4)
# After the burst, this many more at PACED_RATE a second: the latency of a system that keeps up.
PACED = sized_int(200, 2)
PACED_RATE = 20
INSTITUTIONS = sized_int(4, 1)
VERIFY_CLIENTS = sized_int(32, 2)
WARM_UP_SECONDS = sized(1.5, 0.2)
MEASURE_SECONDS = sized(6.0, 0.5)


class Echo:
    """A bare grpc.aio server answering VerifyCertificate with a fixed VALID answer: no policy, no
    database, no signature check. What gRPC in Python costs on this machine."""

    def __init__(self, answer: cpb.VerifyCertificateResponse) -> None:
        self.server = grpc.aio.server()

        async def echo(request: cpb.VerifyCertificateRequest, context: grpc.aio.ServicerContext):  # type: ignore[no-untyped-def]
            return answer

        handler = grpc.method_handlers_generic_handler(
            "training.certificates.v1.CertificatesService",
            {
                "VerifyCertificate": grpc.unary_unary_rpc_method_handler(
                    echo,
                    request_deserializer=cpb.VerifyCertificateRequest.FromString,
                    response_serializer=cpb.VerifyCertificateResponse.SerializeToString,
                )
            },
        )
        self.server.add_generic_rpc_handlers((handler,))
        self.port = self.server.add_insecure_port("127.0.0.1:0")


async def verify_rate(stub, requests: list[cpb.VerifyCertificateRequest], seconds: float) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    """Closed loops for `seconds`: (calls per second, p99 ms, answers that were not VALID)."""
    latencies: list[float] = []
    not_valid = 0
    deadline = time.monotonic() + seconds

    async def loop(offset: int) -> int:
        nonlocal not_valid
        done, i = 0, offset
        while time.monotonic() < deadline:
            started = time.perf_counter()
            answer = await stub.VerifyCertificate(requests[i % len(requests)])
            latencies.append((time.perf_counter() - started) * 1000)
            if answer.verification.result != cpb.VERIFICATION_RESULT_VALID:
                not_valid += 1
            done += 1
            i += VERIFY_CLIENTS
        return done

    counts = await asyncio.gather(*(loop(k) for k in range(VERIFY_CLIENTS)))
    return sum(counts) / seconds, percentile(latencies, 99), not_valid


async def measure_verification(stub, requests) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    await verify_rate(stub, requests, WARM_UP_SECONDS)
    return await verify_rate(stub, requests, MEASURE_SECONDS)


async def run(scale: int) -> Report:
    count = COMPLETIONS * scale
    async with AsyncExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-certificates-")))
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
            ("certificates", CERTIFICATES_MIGRATIONS),
            ("supervision", SUPERVISION_MIGRATIONS),
        ):
            urls[name] = await databases.create(f"bench_{name}")
            await asyncio.to_thread(upgrade, migrations, urls[name])

        province = await Simulator(token=PROVINCE_TOKEN).start()
        stack.push_async_callback(province.stop)
        ca_file = scratch / "province.pem"
        ca_file.write_bytes(province.certificate_pem)
        identity = await stack.enter_async_context(
            running_app(
                IdentityService(),
                identity_settings(
                    database_url=urls["identity"], nats_url=nats.url, secrets=secrets, log_level="WARNING"
                ),
            )
        )
        certificates = await stack.enter_async_context(
            running_app(
                CertificatesService(),
                certificates_settings(
                    database_url=urls["certificates"],
                    nats_url=nats.url,
                    identity_port=identity.port,  # type: ignore[arg-type]
                    secrets=secrets,
                    log_level="WARNING",
                    outbox_poll_interval_seconds=0.2,
                    # The production default, not the tests' short one.
                    verification_cache_seconds=CertificatesSettings.model_fields["verification_cache_seconds"].default,
                ),
            )
        )
        supervision = await stack.enter_async_context(
            running_app(
                SupervisionService(),
                supervision_settings(
                    database_url=urls["supervision"],
                    nats_url=nats.url,
                    identity_url=f"127.0.0.1:{identity.port}",
                    certificates_url=f"127.0.0.1:{certificates.port}",
                    service_client_secret=secrets["client_secret_supervision"],
                    province_url=province.url,
                    province_token=PROVINCE_TOKEN,
                    province_ca_file=str(ca_file),
                    push_batch_size=100,
                    push_timeout_seconds=10,
                    log_level="WARNING",
                ),
            )
        )
        del supervision
        identity_channel = insecure_channel(f"127.0.0.1:{identity.port}")
        certificates_channel = insecure_channel(f"127.0.0.1:{certificates.port}")
        stack.push_async_callback(identity_channel.close)
        stack.push_async_callback(certificates_channel.close)
        identity_stub = identity_pb2_grpc.IdentityServiceStub(identity_channel)
        await create_operator(identity.settings, "benchop", OPERATOR_PASSWORD, "平台运营")  # type: ignore[arg-type]
        signed_in = await identity_stub.Login(ipb.LoginRequest(login="benchop", password=OPERATOR_PASSWORD))
        operator = Person(signed_in.user.user_id, common_pb2.ROLE_OPERATOR, signed_in.tokens.access_token, "benchop")
        people = People(identity_stub, operator, secrets)

        # Real institutions and trainees (identity answers the certificate's name and ID number).
        institutions = [(await people.institution("440106")).institution_id for _ in range(INSTITUTIONS)]
        limit = asyncio.Semaphore(16)

        async def graduate(i: int) -> Graduate:
            async with limit:
                trainee = await people.trainee()
            return Graduate(trainee=trainee, institution_id=institutions[i % INSTITUTIONS], region_code="440106")

        graduates = await asyncio.gather(*(graduate(i) for i in range(count + PACED)))
        burst, paced = graduates[:count], graduates[count:]
        publisher = await stack.enter_async_context(EventPublisher(nats.url))

        async def publish_all(events) -> None:  # type: ignore[no-untyped-def]
            for event in events:
                await publisher.publish(event, source=event.subject.split(".")[1])

        async def finish(g: Graduate) -> float:
            """Publish an enrollment's completion and exam, in a random order; when the last went out."""
            pair = [g.attempt_graded(), g.class_completed()]
            await publish_all(pair if random.random() < 0.5 else reversed(pair))
            return time.time()

        def acknowledged() -> dict[str, float]:
            return {
                s.record["data"]["enrollment_id"]: s.received_at.timestamp()
                for s in province.store.records.values()
                if s.record["record_type"] == "certificate"
            }

        async def certificates_at_the_province(n: int) -> dict[str, float]:
            return await wait_until(
                lambda: (a := acknowledged()) and len(a) >= n and a, timeout=900, interval=0.2, what="certificates"
            )

        # Classes and enrollments first (they happen weeks before completion), then wait until
        # everything up to here reached the province so the timed part starts from a quiet system.
        await publish_all(e for g in graduates for e in (g.class_opened(), g.enrollment_created()))
        await wait_until(
            lambda: len(province.store.records) >= 3 * len(graduates),
            timeout=600,
            interval=0.5,
            what="enrollments pushed",
        )

        # A burst: every completion and exam at once, as fast as they can be published.
        started = time.time()
        last_event = {g.enrollment_id: await finish(g) for g in burst}
        published = time.time()
        arrived = await certificates_at_the_province(count)
        finished = max(arrived.values())
        latencies = [(arrived[e] - t) * 1000 for e, t in last_event.items()]

        # Paced: well below capacity, what one trainee waits for the province to hold the certificate.
        paced_last: dict[str, float] = {}
        for g in paced:
            paced_last[g.enrollment_id] = await finish(g)
            await asyncio.sleep(1 / PACED_RATE)
        arrived = await certificates_at_the_province(count + PACED)
        paced_latencies = [(arrived[e] - t) * 1000 for e, t in paced_last.items()]
        certificates_per_second = count / (finished - started)

        # Public verification against the service, then against the echo.
        certificates_stub = certificates_pb2_grpc.CertificatesServiceStub(certificates_channel)
        requests, token = [], ""
        while True:
            page = await certificates_stub.ListCertificates(
                cpb.ListCertificatesRequest(page=common_pb2.PageRequest(page_size=200, page_token=token)),
                metadata=operator.metadata,
            )
            requests += [
                cpb.VerifyCertificateRequest(serial_number=c.serial_number, verification_code=c.verification_code)
                for c in page.certificates
            ]
            token = page.next_page_token
            if not token:
                break
        random.shuffle(requests)
        sample = await certificates_stub.VerifyCertificate(requests[0])
        echo = Echo(sample)
        await echo.server.start()
        stack.push_async_callback(echo.server.stop, None)
        echo_channel = insecure_channel(f"127.0.0.1:{echo.port}")
        stack.push_async_callback(echo_channel.close)
        echo_rate, echo_p99, _ = await measure_verification(
            certificates_pb2_grpc.CertificatesServiceStub(echo_channel), requests
        )
        verify, verify_p99, not_valid = await measure_verification(certificates_stub, requests)
        counters = province.counters

    ratio = verify / echo_rate if echo_rate else 0.0
    return Report(
        title="Certificates: completions to the province, and public verification vs a bare grpc.aio echo",
        scale=scale,
        load=f"{count:,} enrollments in the burst",
        figures=[
            Figure(
                "certificates per second (events to province ack)",
                certificates_per_second,
                "/s",
                key="certificates per second",
            ),
            Figure(
                "p99 last event to province ack (burst)", percentile(latencies, 99), "ms", key="p99 burst to province"
            ),
            Figure(
                f"p99 last event to province ack ({PACED_RATE}/s)",
                percentile(paced_latencies, 99),
                "ms",
                goal="< 2,000 ms",
                met=percentile(paced_latencies, 99) < 2000,
            ),
            Figure(
                "public verifications per second",
                verify,
                "/s",
                "echo per second",
                echo_rate,
                goal=">= 0.7x echo",
                met=ratio >= 0.7,
                key="verifications vs echo",
            ),
            Figure("p99 verification latency", verify_p99, "ms", "echo p99", echo_p99, better="lower"),
        ],
        notes=[
            f"burst of {count} enrollments, completion and final exam published in random order: "
            f"{published - started:.1f} s to publish them, "
            f"{finished - started:.1f} s to the last certificate acknowledged",
            f"median last event to province ack {percentile(latencies, 50):.0f} ms in the burst, "
            f"{percentile(paced_latencies, 50):.0f} ms paced ({PACED} enrollments at {PACED_RATE}/s); "
            f"province answered {counters.push_requests} push requests, stored {counters.stored} records",
            f"verification: {VERIFY_CLIENTS} closed loops over {len(requests)} certificates, "
            f"{MEASURE_SECONDS:.0f} s after {WARM_UP_SECONDS} s warm-up; {not_valid} answers not VALID",
            "client, echo server, services and simulator share one Python process; PostgreSQL and NATS are separate",
        ],
    )
