"""EdDSA (Ed25519) JWT access tokens: signed by identity, verified locally by every service."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from training_runtime.auth.principal import Principal, Role
from training_runtime.errors import Unauthenticated
from training_runtime.settings import parse_keyring

ISSUER = "training-identity"
AUDIENCE = "training-platform"
ALGORITHM = "EdDSA"


def load_signing_keys(value: str) -> dict[str, Ed25519PrivateKey]:
    """Parse `kid:base64seed,...` (32-byte Ed25519 seeds); the first key signs."""
    return {kid: Ed25519PrivateKey.from_private_bytes(seed) for kid, seed in parse_keyring(value).items()}


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    token_id: str
    expires_at: datetime


class TokenSigner:
    def __init__(self, keys: dict[str, Ed25519PrivateKey], *, ttl: timedelta) -> None:
        if not keys:
            raise ValueError("no signing keys")
        self._keys = keys
        self._current = next(iter(keys))
        self._ttl = ttl
        self._public = {kid: key.public_key() for kid, key in keys.items()}

    @property
    def current_key_id(self) -> str:
        return self._current

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        return dict(self._public)

    def sign(self, principal: Principal, *, ttl: timedelta | None = None) -> IssuedToken:
        # Token lifetimes are security properties in real time, whatever clock the domain runs on.
        now = datetime.now(UTC)
        expires_at = now + (ttl or self._ttl)
        token_id = str(uuid.uuid4())
        claims: dict[str, object] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": principal.subject,
            "role": principal.role.value,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()) - 5,
            "exp": int(expires_at.timestamp()),
            "jti": token_id,
        }
        for claim, value in (
            ("inst", principal.institution_id),
            ("region", principal.region_code),
            ("emp", principal.employer_code),
            ("sid", principal.session_id),
        ):
            if value:
                claims[claim] = value
        token = jwt.encode(claims, self._keys[self._current], algorithm=ALGORITHM, headers={"kid": self._current})
        return IssuedToken(token=token, token_id=token_id, expires_at=expires_at)


class KeySource(Protocol):
    async def get(self, key_id: str) -> Ed25519PublicKey | None:
        """The verification key for `key_id`, or None if it is unknown."""
        ...


class StaticKeySource:
    def __init__(self, keys: dict[str, Ed25519PublicKey]) -> None:
        self._keys = dict(keys)

    async def get(self, key_id: str) -> Ed25519PublicKey | None:
        return self._keys.get(key_id)


class TokenVerifier:
    def __init__(self, keys: KeySource, *, leeway_seconds: float = 30.0) -> None:
        self._keys = keys
        self._leeway = leeway_seconds
        # Verification is pure CPU and repeats for every call with the same token: cache briefly.
        self._cache: dict[str, tuple[float, Principal]] = {}

    async def verify(self, token: str) -> Principal:
        cached = self._cache.get(token)
        if cached is not None and cached[0] > time.time():
            return cached[1]
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthenticated("the access token is malformed", reason="TOKEN_INVALID") from exc
        if header.get("alg") != ALGORITHM or not isinstance(header.get("kid"), str):
            raise Unauthenticated("the access token is not an EdDSA token with a key id", reason="TOKEN_INVALID")
        key = await self._keys.get(header["kid"])
        if key is None:
            raise Unauthenticated("the access token is signed with an unknown key", reason="TOKEN_INVALID")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "sub", "jti"], "verify_iat": False},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("the access token has expired", reason="TOKEN_EXPIRED") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"the access token is invalid: {exc}", reason="TOKEN_INVALID") from exc
        try:
            role = Role(claims.get("role"))
        except ValueError as exc:
            raise Unauthenticated("the access token names no valid role", reason="TOKEN_INVALID") from exc
        principal = Principal(
            subject=str(claims["sub"]),
            role=role,
            institution_id=claims.get("inst"),
            region_code=claims.get("region"),
            employer_code=claims.get("emp"),
            session_id=claims.get("sid"),
            token_id=str(claims["jti"]),
        )
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[token] = (min(float(claims["exp"]), time.time() + 60.0), principal)
        return principal


class CachedKeySet:
    """Keys fetched from identity, cached, and re-fetched when an unknown key id shows up."""

    def __init__(self, fetch: object, *, min_refresh_seconds: float = 5.0) -> None:
        self._fetch = fetch  # async () -> (dict[kid, Ed25519PublicKey], cache_seconds)
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._expires = 0.0
        self._last_fetch = 0.0
        self._min_refresh = min_refresh_seconds
        self._lock = asyncio.Lock()

    async def get(self, key_id: str) -> Ed25519PublicKey | None:
        now = time.monotonic()
        if key_id in self._keys and now < self._expires:
            return self._keys[key_id]
        async with self._lock:
            now = time.monotonic()
            stale = now >= self._expires
            unknown = key_id not in self._keys and now - self._last_fetch >= self._min_refresh
            if stale or unknown:
                self._last_fetch = now
                try:
                    keys, cache_seconds = await self._fetch()  # type: ignore[operator]
                except Exception as exc:
                    if key_id in self._keys:  # identity briefly away: keep verifying with known keys
                        return self._keys[key_id]
                    raise Unauthenticated("token keys are unavailable; retry", reason="KEYS_UNAVAILABLE") from exc
                self._keys = keys
                self._expires = now + cache_seconds
        return self._keys.get(key_id)
