"""Access tokens: what verifies, and every way a token is refused."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from training_runtime.auth import Principal, Role, StaticKeySource, TokenSigner, TokenVerifier, region_covers
from training_runtime.errors import Unauthenticated


def signer(kid: str = "k1", ttl: timedelta = timedelta(minutes=15)) -> TokenSigner:
    return TokenSigner({kid: Ed25519PrivateKey.generate()}, ttl=ttl)


def verifier_for(*signers: TokenSigner) -> TokenVerifier:
    keys = {}
    for s in signers:
        keys.update(s.public_keys())
    return TokenVerifier(StaticKeySource(keys), leeway_seconds=0)


REGULATOR = Principal(subject="u-1", role=Role.REGULATOR, region_code="440000", session_id="s-1")


async def test_signed_token_verifies_to_the_same_principal() -> None:
    s = signer()
    issued = s.sign(REGULATOR)
    principal = await verifier_for(s).verify(issued.token)
    assert principal.subject == "u-1"
    assert principal.role is Role.REGULATOR
    assert principal.region_code == "440000"
    assert principal.session_id == "s-1"
    assert principal.token_id == issued.token_id


async def test_expired_token_is_refused_as_expired() -> None:
    s = signer(ttl=timedelta(seconds=-60))
    with pytest.raises(Unauthenticated) as caught:
        await verifier_for(s).verify(s.sign(REGULATOR).token)
    assert caught.value.reason == "TOKEN_EXPIRED"


async def test_token_from_an_unknown_key_is_refused() -> None:
    with pytest.raises(Unauthenticated, match="unknown key"):
        await verifier_for(signer("k1")).verify(signer("k2").sign(REGULATOR).token)


async def test_token_signed_with_another_key_under_a_known_key_id_is_refused() -> None:
    genuine, forger = signer("k1"), signer("k1")
    with pytest.raises(Unauthenticated) as caught:
        await verifier_for(genuine).verify(forger.sign(REGULATOR).token)
    assert caught.value.reason == "TOKEN_INVALID"


async def test_edited_claims_break_the_signature() -> None:
    s = signer()
    header, payload, signature = s.sign(Principal(subject="u-2", role=Role.TRAINEE)).token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "operator"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    with pytest.raises(Unauthenticated):
        await verifier_for(s).verify(f"{header}.{forged}.{signature}")


async def test_unsigned_token_is_refused() -> None:
    token = jwt.encode({"sub": "u", "role": "operator"}, key=None, algorithm="none", headers={"kid": "k1"})
    with pytest.raises(Unauthenticated, match="EdDSA"):
        await verifier_for(signer()).verify(token)


async def test_garbage_is_refused_as_malformed() -> None:
    with pytest.raises(Unauthenticated, match="malformed"):
        await verifier_for(signer()).verify("not-a-token")


async def test_rotated_keys_verify_old_and_new_tokens() -> None:
    old_key, new_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    before = TokenSigner({"old": old_key}, ttl=timedelta(minutes=5))
    after = TokenSigner({"new": new_key, "old": old_key}, ttl=timedelta(minutes=5))
    verifier = TokenVerifier(StaticKeySource(after.public_keys()))
    assert (await verifier.verify(before.sign(REGULATOR).token)).subject == "u-1"
    assert (await verifier.verify(after.sign(REGULATOR).token)).subject == "u-1"
    assert jwt.get_unverified_header(after.sign(REGULATOR).token)["kid"] == "new"


@pytest.mark.parametrize(
    ("outer", "inner", "covered"),
    [
        ("440000", "440106", True),  # province covers a county
        ("440100", "440106", True),  # prefecture covers its county
        ("440106", "440106", True),
        ("440100", "440300", False),  # Guangzhou does not cover Shenzhen
        ("440000", "450100", False),  # Guangdong does not cover Guangxi
        ("440106", "440100", False),  # a county does not cover its prefecture
        ("44", "440106", False),
    ],
)
def test_region_coverage(outer: str, inner: str, covered: bool) -> None:
    assert region_covers(outer, inner) is covered
