"""The fuzz suite's platform: the six services in-process (the session's apps), who calls, and a world.

- `platform`: for every app, a raw channel, a snapshot connection to its database, and the proto
  services it actually serves (probed: a service it does not serve answers UNIMPLEMENTED).
- `world`: a real scenario built through the APIs over recording channels — a school with a class, a
  trainee who studies and sits a mock exam, a certificate, accounts of every role. Every successful
  call is kept as a valid request to mutate (`world.corpus`), and every id it saw is offered to the
  generated requests by field name (`world.known`), so they reach past "not found".
- `callers`: every role (anonymous included), the world's own people, and bad tokens.

Hypothesis runs derandomized by default (the same examples every run, so a failure in CI fails the
same way locally); `TRAINING_FUZZ_EXPLORE=1` draws fresh examples and keeps failing ones in
.hypothesis/fuzz, replayed first on the next run (docs/testing.md).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import nats
import pytest
import pytest_asyncio
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

from training.certificates.v1 import certificates_pb2_grpc
from training.common.v1 import common_pb2 as R
from training.courses.v1 import courses_pb2_grpc
from training.exams.v1 import exams_events_pb2 as xev
from training.exams.v1 import exams_pb2 as xpb
from training.exams.v1 import exams_pb2_grpc
from training.identity.v1 import identity_pb2 as ipb
from training.identity.v1 import identity_pb2_grpc
from training.learning.v1 import learning_pb2 as lpb
from training.learning.v1 import learning_pb2_grpc
from training_certificates.testing import Graduation
from training_courses.testing import ANONYMOUS, Campus
from training_exams.testing import ExamOffice
from training_identity.testing import FacePhotos, People, Person
from training_learning.testing import Classroom
from training_runtime.auth.principal import Principal, Role
from training_runtime.auth.tokens import TokenSigner, load_signing_keys
from training_runtime.clients import insecure_channel
from training_runtime.server.app import ServiceApp
from training_testkit import wait_until

from .catalogue import declared_services, path_of
from .state import DatabaseState

REPOSITORY = Path(__file__).resolve().parents[2]
EXPLORE = os.environ.get("TRAINING_FUZZ_EXPLORE") == "1"
settings.register_profile(
    "fuzz",
    deadline=None,
    derandomize=not EXPLORE,
    database=DirectoryBasedExampleDatabase(str(REPOSITORY / ".hypothesis" / "fuzz")) if EXPLORE else None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
        HealthCheck.large_base_example,
    ],
)
# Tables background work rewrites whatever the calls do, left out of the snapshots, with the reason.
BACKGROUND_WRITES: dict[str, dict[str, str]] = {
    "supervision": {"feed_cursors": "the command poller stores its cursor on every poll (docs/supervision.md)"},
}
APPS = ("identity", "courses", "learning", "exams", "certificates", "supervision")
FACES = FacePhotos()


def _raw(_: bytes) -> bytes:
    return _


@dataclass
class Served:
    """One app: its raw channel, database snapshots and the services it serves."""

    name: str
    app: ServiceApp
    channel: grpc.aio.Channel
    database: DatabaseState
    services: set[str] = field(default_factory=set)
    # Streaming calls go through the blocking client in a thread: when the server answers before
    # the request stream is sent, the asyncio client reports its own INTERNAL ("Internal error from
    # Core") instead of the server's status (grpc/aio/_call.py, _write).
    blocking: grpc.Channel | None = None

    @property
    def max_message_bytes(self) -> int:
        return self.app.settings.grpc_max_message_bytes

    def permits(self, method: str, role: Role | None) -> bool:
        rule = self.app.definition.policy.rule_for(method)
        return rule is not None and rule.permits(role)


@dataclass
class Platform:
    apps: dict[str, Served]
    jetstream: Any

    def serving(self, service: str) -> list[Served]:
        return [served for served in self.apps.values() if service in served.services]

    async def quiet(self, served: Served) -> None:
        """Until every outbox is published and `served`'s consumers have processed all they were sent,
        so no event of an earlier call lands in `served`'s database during the next comparison."""

        async def drained() -> bool:
            for app in self.apps.values():
                if await app.database.connection.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"):
                    return False
            for runner in served.app._runners:
                info = await self.jetstream.consumer_info(runner.spec.stream, runner.spec.durable)
                if (info.num_pending or 0) + (info.num_ack_pending or 0):
                    return False
            return True

        # Long enough for an earlier test's event that keeps failing to go through all its retries
        # (about two minutes of backoff) to the dead letters.
        await wait_until(drained, timeout=180, interval=0.05, what=f"events for {served.name} to be processed")


async def call_raw(
    served: Served, path: str, data: bytes | list[bytes], metadata: tuple[tuple[str, str], ...], *, streaming: bool
) -> tuple[grpc.StatusCode, str]:
    """Send wire bytes to `path`; (status code, details)."""
    try:
        if streaming:
            assert served.blocking is not None
            call = served.blocking.stream_stream(path, request_serializer=_raw, response_deserializer=_raw)
            messages = data if isinstance(data, list) else [data]
            await asyncio.to_thread(lambda: list(call(iter(messages), metadata=metadata, timeout=30)))
        else:
            unary = served.channel.unary_unary(path, request_serializer=_raw, response_deserializer=_raw)
            assert isinstance(data, bytes)
            await unary(data, metadata=metadata, timeout=30)
    except grpc.RpcError as error:
        return error.code(), error.details() or ""  # type: ignore[attr-defined]
    return grpc.StatusCode.OK, ""


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def platform(
    identity_app: ServiceApp,
    courses_app: ServiceApp,
    learning_app: ServiceApp,
    exams_app: ServiceApp,
    certificates_app: ServiceApp,
    supervision_app: ServiceApp,
    nats_server: Any,
) -> AsyncIterator[Platform]:
    running = (identity_app, courses_app, learning_app, exams_app, certificates_app, supervision_app)
    apps = dict(zip(APPS, running, strict=True))
    found: dict[str, Served] = {}
    client = await nats.connect(nats_server.url)
    try:
        for name, app in apps.items():
            served = Served(
                name,
                app,
                insecure_channel(f"127.0.0.1:{app.port}"),
                await DatabaseState.open(app.settings.database_url, ignore=set(BACKGROUND_WRITES.get(name, {}))),
                blocking=grpc.insecure_channel(f"127.0.0.1:{app.port}"),
            )
            found[name] = served
            for service in declared_services():
                method = service.methods[0]
                code, _ = await call_raw(served, path_of(method), b"", (), streaming=method.client_streaming)
                if code != grpc.StatusCode.UNIMPLEMENTED:
                    served.services.add(service.full_name)
        yield Platform(found, client.jetstream())
    finally:
        await client.close()
        for served in found.values():
            await served.channel.close()
            assert served.blocking is not None
            served.blocking.close()
            await served.database.close()


@dataclass
class Caller:
    label: str
    role: Role | None
    metadata: tuple[tuple[str, str], ...]


def role_of(person: Person | None) -> Role | None:
    if person is None:
        return None
    return Role(R.Role.Name(person.role).removeprefix("ROLE_").lower())


class _Recorder(grpc.aio.UnaryUnaryClientInterceptor):
    """Keeps every successful unary call: its request and caller (the corpus) and the ids it saw."""

    def __init__(self, world: World) -> None:
        self.world = world

    async def intercept_unary_unary(self, continuation, client_call_details, request):  # type: ignore[no-untyped-def]
        call = await continuation(client_call_details, request)
        try:
            response = await call
        except grpc.aio.AioRpcError:
            return call
        method = client_call_details.method
        path = method.decode() if isinstance(method, bytes) else method
        metadata = tuple((k, v) for k, v in (client_call_details.metadata or ()) if k == "authorization")
        self.world.corpus[path].append((request.SerializeToString(), metadata))
        self.world.harvest(request)
        self.world.harvest(response)
        return call


@dataclass
class World:
    corpus: dict[str, list[tuple[bytes, tuple[tuple[str, str], ...]]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    known: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    people: dict[str, Person] = field(default_factory=dict)

    def harvest(self, message: Message) -> None:
        """Remember every id-like string in `message` under its field name."""
        for descriptor, value in message.ListFields():
            if descriptor.type == FieldDescriptor.TYPE_MESSAGE:
                for inner in value if descriptor.is_repeated else [value]:
                    self.harvest(inner)
            elif descriptor.type == FieldDescriptor.TYPE_STRING and _id_like(descriptor.name):
                values = value if descriptor.is_repeated else [value]
                for one in values:
                    if one and one not in self.known[descriptor.name] and len(self.known[descriptor.name]) < 8:
                        self.known[descriptor.name].append(one)

    def example(self, descriptor: Descriptor) -> Message:
        """A request of type `descriptor` whose id fields hold ids the world knows (RPCs it never called)."""
        from .strategies import message_class

        message = message_class(descriptor)()
        for field_descriptor in descriptor.fields:
            values = self.known.get(field_descriptor.name)
            if field_descriptor.type == FieldDescriptor.TYPE_STRING and values:
                if field_descriptor.is_repeated:
                    getattr(message, field_descriptor.name).append(values[0])
                else:
                    setattr(message, field_descriptor.name, values[0])
        return message


def _id_like(name: str) -> bool:
    return name.endswith(("_id", "_ids", "_code", "_token")) or name in {"serial_number", "verification_code", "token"}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(
    platform: Platform,
    people: People,
    platform_secrets: dict[str, str],
    training_clock: Any,
    nats_server: Any,
) -> AsyncIterator[World]:
    """The scenario every fuzzed call runs against (see the module docstring)."""
    found = World()
    recorder = _Recorder(found)
    channels = {
        name: insecure_channel(f"127.0.0.1:{s.app.port}", interceptors=[recorder]) for name, s in platform.apps.items()
    }
    try:
        identity = identity_pb2_grpc.IdentityServiceStub(channels["identity"])
        mine = People(identity, people.operator, platform_secrets)
        campus = Campus(courses_pb2_grpc.CoursesServiceStub(channels["courses"]), mine)
        learning = learning_pb2_grpc.LearningServiceStub(channels["learning"])
        classroom = Classroom(learning, campus, mine, training_clock)
        office = ExamOffice(exams_pb2_grpc.ExamsServiceStub(channels["exams"]), campus, mine)
        graduation = Graduation(
            mine, nats_server.url, certificates_pb2_grpc.CertificatesServiceStub(channels["certificates"])
        )

        where = await office.exam_class()
        school = where.school_class.school
        exam = await office.define(where, xev.EXAM_KIND_MOCK)
        trainee = await mine.enrolled_trainee(FACES["obama.jpg"])
        enrollment_id = await classroom.enrolled(where.school_class, trainee)
        await office.wait_enrolled(where, trainee)
        lesson = where.school_class.lessons()[0]
        player = await classroom.start(trainee, enrollment_id, lesson.lesson_id, FACES["obama2.jpg"])
        await player.study(20, FACES["obama2.jpg"])
        started = await office.start(trainee, exam)
        await office.save(trainee, started.attempt.attempt_id, started.paper.questions[0].position, [0])

        graduate = await graduation.graduate()
        await graduation.publish(*graduate.training())
        await graduation.certificate(graduate, timeout=30)

        service = await mine.service("learning")
        await identity.VerifyFace(
            ipb.VerifyFaceRequest(
                user_id=trainee.user_id, image=FACES["obama2.jpg"], purpose=ipb.FACE_CHECK_PURPOSE_STUDY_RANDOM
            ),
            metadata=service.metadata,
        )
        regulator = await mine.account(R.ROLE_REGULATOR, region_code="440000")
        found.people = {
            "trainee": trainee,
            "graduate": graduate.trainee,
            "institution_admin": school.admin,
            "institution_staff": school.staff,
            "regulator": regulator,
            "operator": people.operator,
            "service": service,
        }
        # Reads of what the scenario made, so every read RPC has a valid request to mutate.
        for viewer in (trainee, school.admin):
            await learning.ExplainHours(lpb.ExplainHoursRequest(enrollment_id=enrollment_id), metadata=viewer.metadata)
            await office.stub.GetAttempt(
                xpb.GetAttemptRequest(attempt_id=started.attempt.attempt_id), metadata=viewer.metadata
            )
        await identity.GetUser(ipb.GetUserRequest(user_id=trainee.user_id), metadata=people.operator.metadata)
        await identity.GetFaceStatus(ipb.GetFaceStatusRequest(user_id=trainee.user_id), metadata=trainee.metadata)
        yield found
    finally:
        for channel in channels.values():
            await channel.close()


@pytest.fixture(scope="module")
def bad_tokens(platform_secrets: dict[str, str], world: World) -> dict[str, tuple[tuple[str, str], ...]]:
    """Metadata with an expired, a forged, a malformed and a missing bearer token, and a wrong scheme."""
    keys = load_signing_keys(platform_secrets["jwt_signing_keys"])
    trainee = world.people["trainee"]
    principal = Principal(subject=trainee.user_id, role=Role.TRAINEE, region_code="440106")
    expired = TokenSigner(keys, ttl=timedelta(seconds=-3600)).sign(principal).token
    kid = next(iter(keys))
    forger = load_signing_keys(f"{kid}:{'A' * 43}=")
    forged = TokenSigner(forger, ttl=timedelta(minutes=5)).sign(principal).token
    header, payload, signature = trainee.token.split(".")
    return {
        "expired": (("authorization", f"Bearer {expired}"),),
        "forged": (("authorization", f"Bearer {forged}"),),
        "tampered": (("authorization", f"Bearer {header}.{payload}x.{signature}"),),
        "malformed": (("authorization", "Bearer not-a-token"),),
        "empty": (("authorization", "Bearer "),),
        "basic": (("authorization", f"Basic {uuid.uuid4().hex}"),),
        "missing": (),
    }


@pytest.fixture(scope="module")
def callers(every_role: dict[int, Person | None], world: World) -> list[Caller]:
    """Every role, anonymous included, and the world's own people (who own its rows)."""
    found = [
        Caller(
            R.Role.Name(role) if role != ANONYMOUS else "ANONYMOUS", role_of(person), person.metadata if person else ()
        )
        for role, person in every_role.items()
    ]
    found += [Caller(f"world {label}", role_of(person), person.metadata) for label, person in world.people.items()]
    return found
