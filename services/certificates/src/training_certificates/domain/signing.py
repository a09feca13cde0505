"""Ed25519 signatures over the canonical encoding, with key ids so keys can rotate, and the compact
signed token a certificate's QR code carries.

The token is a JWT (RFC 7519) signed with EdDSA, its header naming the key id: any JWT library with
the published public key checks it offline. Its claims are what a person compares with the paper
(serial, name, masked ID, qualification, hours, score, dates) plus `dg`, the SHA-256 of the
canonical encoding, which binds the token to the full signed certificate.
"""

from __future__ import annotations

import base64
import hmac
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from training_certificates.domain.document import CertificateDocument, hours, points

TOKEN_ISSUER = "training-certificates"  # noqa: S105 (a JWT issuer name)
TOKEN_TYPE = "training-certificate+jwt"  # noqa: S105 (a JWT type name)


class TokenRejected(Exception):
    """The token is not one this platform signed as it stands (altered, malformed or foreign key)."""


@dataclass(frozen=True)
class TokenClaims:
    serial_number: str
    trainee_name: str
    trainee_national_id: str
    qualification_type: str
    operation_type: str
    training_kind: str
    total_hours: str
    exam_score: str
    issue_date: str
    valid_until: str
    digest: bytes
    key_id: str


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CertificateKeys:
    """The keyring: the first key signs, every key verifies what it signed."""

    def __init__(self, seeds: dict[str, bytes]) -> None:
        if not seeds:
            raise ValueError("no certificate signing keys")
        self._private = {kid: Ed25519PrivateKey.from_private_bytes(seed) for kid, seed in seeds.items()}
        self._public = {kid: key.public_key() for kid, key in self._private.items()}
        self.current_key_id = next(iter(seeds))

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        return dict(self._public)

    def sign(self, document: CertificateDocument) -> tuple[str, bytes]:
        kid = self.current_key_id
        return kid, self._private[kid].sign(document.canonical())

    def verify(self, document: CertificateDocument, key_id: str, signature: bytes) -> bool:
        key = self._public.get(key_id)
        if key is None:
            return False
        try:
            key.verify(signature, document.canonical())
        except InvalidSignature:
            return False
        return True

    def token(self, document: CertificateDocument) -> str:
        kid = self.current_key_id
        claims = {
            "iss": TOKEN_ISSUER,
            "sub": document.serial_number,
            "n": document.trainee_name,
            "id": document.trainee_national_id,
            "q": document.qualification_type,
            "op": document.operation_type,
            "k": document.training_kind,
            "h": hours(document.total_hours),
            "sc": points(document.exam_score),
            "d": document.issue_date.isoformat(),
            "u": document.valid_until.isoformat(),
            "dg": _b64(document.digest()),
        }
        return jwt.encode(claims, self._private[kid], algorithm="EdDSA", headers={"kid": kid, "typ": TOKEN_TYPE})


def read_token(token: str, public_keys: dict[str, Ed25519PublicKey]) -> TokenClaims:
    """Check a QR token with the published keys alone (no database, no network)."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise TokenRejected(f"not a certificate token: {exc}") from exc
    kid = header.get("kid")
    if header.get("alg") != "EdDSA" or not isinstance(kid, str):
        raise TokenRejected("not an EdDSA token with a key id")
    key = public_keys.get(kid)
    if key is None:
        raise TokenRejected(f"signed with an unknown key {kid!r}")
    try:
        claims: dict[str, Any] = jwt.decode(token, key, algorithms=["EdDSA"], issuer=TOKEN_ISSUER)
    except jwt.PyJWTError as exc:
        raise TokenRejected(f"the signature or contents do not check: {exc}") from exc
    try:
        return TokenClaims(
            serial_number=str(claims["sub"]),
            trainee_name=str(claims["n"]),
            trainee_national_id=str(claims["id"]),
            qualification_type=str(claims["q"]),
            operation_type=str(claims["op"]),
            training_kind=str(claims["k"]),
            total_hours=str(claims["h"]),
            exam_score=str(claims["sc"]),
            issue_date=str(claims["d"]),
            valid_until=str(claims["u"]),
            digest=_unb64(str(claims["dg"])),
            key_id=kid,
        )
    except (KeyError, ValueError) as exc:
        raise TokenRejected(f"a signed token lacks a claim: {exc}") from exc


def same_digest(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)
