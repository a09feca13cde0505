"""Test support for identity and for every service whose tests need real accounts and tokens.

Loaded as a pytest plugin by the repository's root conftest.py. Fixtures:
- `platform_secrets`: a fresh set of keys and client secrets for the session.
- `identity_app`: identity running in-process (session), on a migrated database.
- `people`: creates accounts of every role through the API and hands out their tokens, including
  service tokens (`await people.service("learning")`) and trainees with an enrolled face
  (`await people.enrolled_trainee()`).
- `face_photos`: the real test photographs (services/identity/tests/data/faces).
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
import pytest_asyncio

from training.common.v1 import common_pb2
from training.identity.v1 import identity_pb2 as pb
from training.identity.v1 import identity_pb2_grpc
from training_devstack import secrets as dev_secrets
from training_devstack.embedded import NatsServer
from training_identity.bootstrap import create_operator
from training_identity.domain.validation import credit_code_check_character, national_id_check_character
from training_identity.service import MIGRATIONS, IdentityService
from training_identity.settings import IdentitySettings
from training_runtime.clients import insecure_channel
from training_runtime.migrations import upgrade
from training_runtime.server.app import ServiceApp
from training_testkit import TestDatabases, running_app

OPERATOR_PASSWORD = "Operator#Pass2026"
PASSWORD = "Train!ng2026pw"
FACE_PHOTOS = Path(__file__).resolve().parents[2] / "tests" / "data" / "faces"
FACE_CONSENT_PURPOSE = "identity verification during online safety training"


class FacePhotos:
    """The test photographs by file name (obama.jpg, biden.jpg, two_people.jpg, ...)."""

    def __init__(self, directory: Path = FACE_PHOTOS) -> None:
        self.directory = directory

    def __getitem__(self, name: str) -> bytes:
        return (self.directory / name).read_bytes()


def identity_settings(
    *, database_url: str, nats_url: str, secrets: dict[str, str], **overrides: Any
) -> IdentitySettings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "nats_url": nats_url,
        "grpc_host": "127.0.0.1",
        "grpc_port": 0,
        "jwt_signing_keys": secrets["jwt_signing_keys"],
        "field_encryption_keys": secrets["field_encryption_keys"],
        "lookup_hash_key": secrets["lookup_hash_key"],
        "service_clients": dev_secrets.service_client_list(secrets),
        # Cheap hashing keeps the suite fast; production uses the (much larger) defaults.
        "password_hash_time_cost": 1,
        "password_hash_memory_kib": 1024,
        "password_hash_parallelism": 1,
        "log_format": "text",
        "health_check_interval_seconds": 0.2,
        "outbox_poll_interval_seconds": 0.5,
        # Tests call one at a time; one face worker (one copy of the models) is enough.
        "face_workers": 1,
    }
    values.update(overrides)
    return IdentitySettings(**values)


async def migrated_database(databases: TestDatabases, prefix: str, migrations: str) -> str:
    url = await databases.create(prefix)
    await asyncio.to_thread(upgrade, migrations, url)
    return url


_serial = itertools.count(uuid.uuid4().int % 5_000_000)


def make_national_id(region: str = "440106") -> str:
    """A fresh valid resident ID number, unique within the session (birth date and sequence from a counter)."""
    n = next(_serial)
    birth = date(1960, 1, 1) + timedelta(days=(n // 1000) % 14_000)
    first17 = f"{region}{birth:%Y%m%d}{n % 1000:03d}"
    return first17 + national_id_check_character(first17)


def make_credit_code(region: str = "440106") -> str:
    """A fresh valid unified social credit code (random organisation code with its check digit)."""
    from training_identity.domain.validation import organization_code_check_character

    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    raw = uuid.uuid4().int
    body = ""
    for _ in range(8):
        raw, digit = divmod(raw, 10)
        body += str(digit)
    org = body + organization_code_check_character(body)
    first17 = f"91{region}{org}"
    code = first17 + credit_code_check_character(first17)
    assert all(c in alphabet for c in code)
    return code


def make_phone() -> str:
    return f"13{uuid.uuid4().int % 10**9:09d}"


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


@dataclass
class Person:
    user_id: str
    role: int
    token: str
    login: str
    institution_id: str = ""
    region_code: str = ""
    employer_code: str = ""

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return bearer(self.token)


class People:
    """Creates accounts through identity's API and signs them in."""

    def __init__(
        self, stub: identity_pb2_grpc.IdentityServiceStub, operator: Person, secrets: dict[str, str] | None = None
    ) -> None:
        self.stub = stub
        self.operator = operator
        self.secrets = secrets or {}

    async def service(self, name: str) -> Person:
        """A platform service's token (`name` is one of training_devstack.secrets.SERVICES)."""
        issued = await self.stub.IssueServiceToken(
            pb.IssueServiceTokenRequest(service_name=name, client_secret=self.secrets[f"client_secret_{name}"])
        )
        return Person(user_id=f"service:{name}", role=common_pb2.ROLE_SERVICE, token=issued.access_token, login=name)

    async def enrolled_trainee(self, photo: bytes | None = None) -> Person:
        """A trainee who consented to face processing and enrolled `photo` (default obama.jpg)."""
        person = await self.trainee()
        await self.stub.RecordFaceConsent(
            pb.RecordFaceConsentRequest(purpose=FACE_CONSENT_PURPOSE, retention_days=365 * 3),
            metadata=person.metadata,
        )
        await self.stub.EnrollFace(
            pb.EnrollFaceRequest(image=photo if photo is not None else FacePhotos()["obama.jpg"]),
            metadata=person.metadata,
        )
        return person

    async def login(self, login: str, password: str = PASSWORD) -> pb.LoginResponse:
        return await self.stub.Login(pb.LoginRequest(login=login, password=password))

    async def institution(
        self,
        region: str = "440106",
        qualification_types: list[int] | None = None,
        operation_types: list[str] | None = None,
    ) -> pb.Institution:
        response = await self.stub.RegisterInstitution(
            pb.RegisterInstitutionRequest(
                name=f"安全培训学校{uuid.uuid4().hex[:6]}",
                credit_code=make_credit_code(region),
                region_code=region,
                qualification_types=qualification_types
                or [
                    common_pb2.QUALIFICATION_TYPE_SAFETY_MANAGER_HIGH_RISK,
                    common_pb2.QUALIFICATION_TYPE_SPECIAL_OPERATION,
                ],
                operation_types=operation_types if operation_types is not None else ["electrical.low_voltage"],
            ),
            metadata=self.operator.metadata,
        )
        return response.institution

    async def trainee(self, *, employer_code: str | None = None, region: str = "440106") -> Person:
        national_id = make_national_id()
        employer = employer_code or make_credit_code(region)
        registered = await self.stub.RegisterTrainee(
            pb.RegisterTraineeRequest(
                display_name="张伟",
                national_id=national_id,
                phone=make_phone(),
                employer=pb.Employer(name="广州化工有限公司", credit_code=employer),
                password=PASSWORD,
            )
        )
        signed_in = await self.login(national_id)
        return Person(
            user_id=registered.user.user_id,
            role=common_pb2.ROLE_TRAINEE,
            token=signed_in.tokens.access_token,
            login=national_id,
            region_code=registered.user.region_code,
            employer_code=employer,
        )

    async def account(
        self,
        role: int,
        *,
        creator: Person | None = None,
        institution_id: str = "",
        region_code: str = "",
        employer_code: str = "",
    ) -> Person:
        username = f"u{uuid.uuid4().hex[:12]}"
        request = pb.CreateAccountRequest(
            role=role,
            username=username,
            password=PASSWORD,
            display_name="李娜",
            institution_id=institution_id,
            region_code=region_code,
        )
        if role == common_pb2.ROLE_EMPLOYER:
            request.employer.CopyFrom(
                pb.Employer(name="佛山冶金有限公司", credit_code=employer_code or make_credit_code())
            )
        created = await self.stub.CreateAccount(request, metadata=(creator or self.operator).metadata)
        signed_in = await self.login(username)
        return Person(
            user_id=created.user.user_id,
            role=role,
            token=signed_in.tokens.access_token,
            login=username,
            institution_id=created.user.institution_id,
            region_code=created.user.region_code,
            employer_code=created.user.employer.credit_code,
        )


@pytest.fixture(scope="session")
def platform_secrets() -> dict[str, str]:
    return dev_secrets.generate()


@pytest.fixture(scope="session")
def face_photos() -> FacePhotos:
    return FacePhotos()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def identity_database(test_databases: TestDatabases) -> str:
    return await migrated_database(test_databases, "identity", MIGRATIONS)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def identity_app(
    identity_database: str, nats_server: NatsServer, platform_secrets: dict[str, str]
) -> AsyncIterator[ServiceApp]:
    settings = identity_settings(database_url=identity_database, nats_url=nats_server.url, secrets=platform_secrets)
    async with running_app(IdentityService(), settings) as app:
        yield app


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def identity_channel(identity_app: ServiceApp) -> AsyncIterator[grpc.aio.Channel]:
    channel = insecure_channel(f"127.0.0.1:{identity_app.port}")
    yield channel
    await channel.close()


@pytest.fixture(scope="session")
def identity_stub(identity_channel: grpc.aio.Channel) -> identity_pb2_grpc.IdentityServiceStub:
    return identity_pb2_grpc.IdentityServiceStub(identity_channel)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def people(
    identity_app: ServiceApp,
    identity_stub: identity_pb2_grpc.IdentityServiceStub,
    identity_database: str,
    platform_secrets: dict[str, str],
) -> People:
    settings = identity_app.settings
    assert isinstance(settings, IdentitySettings)
    username = f"op{uuid.uuid4().hex[:8]}"
    await create_operator(settings, username, OPERATOR_PASSWORD, "平台运营")
    signed_in = await identity_stub.Login(pb.LoginRequest(login=username, password=OPERATOR_PASSWORD))
    operator = Person(
        user_id=signed_in.user.user_id,
        role=common_pb2.ROLE_OPERATOR,
        token=signed_in.tokens.access_token,
        login=username,
    )
    return People(identity_stub, operator, platform_secrets)
