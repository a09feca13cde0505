"""Signing in: logins, lock-out, refresh rotation with reuse detection, logout, password change,
service tokens and the published keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import jwt
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from training.common.v1 import common_pb2
from training.identity.v1 import identity_pb2 as pb
from training.identity.v1 import identity_pb2_grpc
from training_identity.service import IdentityService
from training_identity.testing import PASSWORD, bearer, identity_settings
from training_runtime.clients import insecure_channel
from training_runtime.clock import ManualClock
from training_testkit import running_app
from training_testkit.rpc import rpc_failure


async def test_trainee_logs_in_with_id_number_or_phone(people) -> None:
    person = await people.trainee()
    me = await people.stub.GetUser(pb.GetUserRequest(user_id=person.user_id), metadata=person.metadata)
    by_id = await people.login(person.login)
    by_phone = await people.login(me.user.phone)
    assert by_id.user.user_id == by_phone.user.user_id == person.user_id
    assert by_id.user.unmasked  # a person sees their own numbers whole


async def test_wrong_password_and_unknown_login_look_the_same(people) -> None:
    person = await people.trainee()
    wrong = await rpc_failure(people.login(person.login, "Wrong-Password-1"))
    unknown = await rpc_failure(people.login("nobody-here", "Wrong-Password-1"))
    assert wrong.code == unknown.code == grpc.StatusCode.UNAUTHENTICATED
    assert wrong.message == unknown.message
    assert wrong.reason == unknown.reason == "INVALID_CREDENTIALS"


async def test_five_failed_logins_lock_the_account_even_for_the_right_password(people) -> None:
    person = await people.trainee()
    for _ in range(4):
        assert (await rpc_failure(people.login(person.login, "Wrong-Password-1"))).reason == "INVALID_CREDENTIALS"
    fifth = await rpc_failure(people.login(person.login, "Wrong-Password-1"))
    assert fifth.code == grpc.StatusCode.FAILED_PRECONDITION
    assert fifth.reason == "ACCOUNT_LOCKED"
    right = await rpc_failure(people.login(person.login, PASSWORD))
    assert right.reason == "ACCOUNT_LOCKED"
    assert "locked until" in right.message


@pytest_asyncio.fixture(loop_scope="session")
async def clocked(identity_database, nats_server, platform_secrets):  # type: ignore[no-untyped-def]
    """A second identity on the same database whose clock the test moves."""
    clock = ManualClock(start=datetime.now(UTC))
    settings = identity_settings(database_url=identity_database, nats_url=nats_server.url, secrets=platform_secrets)
    async with running_app(IdentityService(), settings, clock=clock) as app:
        channel = insecure_channel(f"127.0.0.1:{app.port}")
        try:
            yield identity_pb2_grpc.IdentityServiceStub(channel), clock
        finally:
            await channel.close()


async def test_lock_lifts_after_the_lock_period(clocked, people) -> None:
    stub, clock = clocked
    person = await people.trainee()

    def login(password: str):  # type: ignore[no-untyped-def]
        return stub.Login(pb.LoginRequest(login=person.login, password=password))

    for _ in range(5):
        await rpc_failure(login("Wrong-Password-1"))
    assert (await rpc_failure(login(PASSWORD))).reason == "ACCOUNT_LOCKED"
    clock.advance(timedelta(minutes=14))
    assert (await rpc_failure(login(PASSWORD))).reason == "ACCOUNT_LOCKED"
    clock.advance(timedelta(minutes=2))
    assert (await login(PASSWORD)).tokens.access_token


async def test_failures_spread_beyond_the_window_do_not_lock(clocked, people) -> None:
    stub, clock = clocked
    person = await people.trainee()
    for _ in range(6):
        await rpc_failure(stub.Login(pb.LoginRequest(login=person.login, password="Wrong-Password-1")))
        clock.advance(timedelta(minutes=4))
    assert (await stub.Login(pb.LoginRequest(login=person.login, password=PASSWORD))).tokens.access_token


async def test_refresh_rotates_and_a_reused_refresh_token_ends_the_session(people) -> None:
    person = await people.trainee()
    first = (await people.login(person.login)).tokens
    second = (await people.stub.RefreshToken(pb.RefreshTokenRequest(refresh_token=first.refresh_token))).tokens
    assert second.refresh_token != first.refresh_token
    reused = await rpc_failure(people.stub.RefreshToken(pb.RefreshTokenRequest(refresh_token=first.refresh_token)))
    assert reused.reason == "REFRESH_TOKEN_REUSED"
    # The thief's copy and the legitimate newer token both stop working.
    revoked = await rpc_failure(people.stub.RefreshToken(pb.RefreshTokenRequest(refresh_token=second.refresh_token)))
    assert revoked.reason == "REFRESH_TOKEN_REVOKED"


async def test_logout_revokes_the_session(people) -> None:
    person = await people.trainee()
    tokens = (await people.login(person.login)).tokens
    await people.stub.Logout(pb.LogoutRequest(refresh_token=tokens.refresh_token))
    error = await rpc_failure(people.stub.RefreshToken(pb.RefreshTokenRequest(refresh_token=tokens.refresh_token)))
    assert error.reason == "REFRESH_TOKEN_REVOKED"


async def test_unknown_refresh_token_is_refused(people) -> None:
    error = await rpc_failure(people.stub.RefreshToken(pb.RefreshTokenRequest(refresh_token="made-up")))
    assert error.reason == "REFRESH_TOKEN_INVALID"


async def test_password_change_needs_the_current_password_and_ends_other_sessions(people) -> None:
    person = await people.trainee()
    other_device = (await people.login(person.login)).tokens
    wrong = await rpc_failure(
        people.stub.ChangePassword(
            pb.ChangePasswordRequest(current_password="Not-The-One-1", new_password="New!Passw0rd99"),
            metadata=person.metadata,
        )
    )
    assert wrong.code == grpc.StatusCode.INVALID_ARGUMENT
    await people.stub.ChangePassword(
        pb.ChangePasswordRequest(current_password=PASSWORD, new_password="New!Passw0rd99"), metadata=person.metadata
    )
    assert (await rpc_failure(people.login(person.login))).reason == "INVALID_CREDENTIALS"
    assert (await people.login(person.login, "New!Passw0rd99")).tokens.access_token
    ended = await rpc_failure(
        people.stub.RefreshToken(pb.RefreshTokenRequest(refresh_token=other_device.refresh_token))
    )
    assert ended.reason == "REFRESH_TOKEN_REVOKED"


async def test_service_token_needs_the_right_secret(people, platform_secrets) -> None:
    issued = await people.stub.IssueServiceToken(
        pb.IssueServiceTokenRequest(service_name="learning", client_secret=platform_secrets["client_secret_learning"])
    )
    trainee = await people.trainee()
    as_service = await people.stub.GetUser(
        pb.GetUserRequest(user_id=trainee.user_id), metadata=bearer(issued.access_token)
    )
    assert as_service.user.unmasked
    wrong = await rpc_failure(
        people.stub.IssueServiceToken(
            pb.IssueServiceTokenRequest(service_name="learning", client_secret=platform_secrets["client_secret_exams"])
        )
    )
    assert wrong.reason == "INVALID_CLIENT"
    unknown = await rpc_failure(
        people.stub.IssueServiceToken(pb.IssueServiceTokenRequest(service_name="mallory", client_secret="x" * 32))
    )
    assert unknown.reason == "INVALID_CLIENT"


async def test_published_keys_verify_issued_tokens(people) -> None:
    keys = await people.stub.GetPublicKeys(pb.GetPublicKeysRequest())
    current = [k for k in keys.keys if k.current]
    assert len(current) == 1
    assert current[0].algorithm == "EdDSA"
    token = people.operator.token
    assert jwt.get_unverified_header(token)["kid"] == current[0].key_id
    claims = jwt.decode(
        token,
        Ed25519PublicKey.from_public_bytes(current[0].public_key),
        algorithms=["EdDSA"],
        audience="training-platform",
    )
    assert claims["role"] == "operator"


async def test_access_token_for_a_staff_role_carries_its_scope(people) -> None:
    institution = await people.institution(region="440305")
    admin = await people.account(common_pb2.ROLE_INSTITUTION_ADMIN, institution_id=institution.institution_id)
    claims = jwt.decode(admin.token, options={"verify_signature": False})
    assert claims["inst"] == institution.institution_id
    assert claims["region"] == "440305"
    assert claims["sid"]
