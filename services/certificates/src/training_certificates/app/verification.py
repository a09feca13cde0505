"""Public verification: by serial number and verification code, or by the QR token.

Every answer re-encodes the stored certificate and checks its signature, so a row changed behind
the service's back answers TAMPERED, as does a token whose signature or digest does not match.

Answers are cached per serial number, because verification is public, read-heavy and repetitive.
A revocation empties the entry at once on every replica: the one that revokes forgets it, and every
replica listens to `certificate.revoked` on a plain NATS subscription (`listen_for_revocations`).
The cache's lifetime bounds what a missed message (NATS reconnecting) or a database edit behind the
service's back can hide.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select

from training.certificates.v1 import certificates_events_pb2 as cev
from training_certificates.app.records import REVOKED, CertificateView, by_serial, view_of
from training_certificates.domain.document import normalize_code
from training_certificates.domain.signing import CertificateKeys, TokenRejected, read_token, same_digest
from training_certificates.persistence.tables import certificate_erasures
from training_events import NatsConnection
from training_runtime.db import UnitOfWork
from training_runtime.errors import Validator

log = logging.getLogger(__name__)

REVOKED_SUBJECT = "training.certificates.certificate.revoked.v1"


class Result(StrEnum):
    VALID = "valid"
    REVOKED = "revoked"
    TAMPERED = "tampered"
    UNKNOWN = "unknown"
    RETENTION_ENDED = "retention_ended"


@dataclass(frozen=True)
class Answer:
    result: Result
    certificate: CertificateView | None = None
    revoked_at: datetime | None = None
    revocation_reason: str = ""


UNKNOWN = Answer(Result.UNKNOWN)
TAMPERED = Answer(Result.TAMPERED)
# The holder was erased at the end of retention (docs/records.md): the signature covered what is gone.
RETENTION_ENDED = Answer(Result.RETENTION_ENDED)


@dataclass(frozen=True)
class _Entry:
    expires: float
    view: CertificateView | None
    answer: Answer
    digest: bytes


class VerificationCache:
    def __init__(self, ttl_seconds: float, *, max_entries: int = 100_000) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._entries: dict[str, _Entry] = {}

    def get(self, serial: str) -> _Entry | None:
        entry = self._entries.get(serial)
        if entry is None or entry.expires < time.monotonic():
            return None
        return entry

    def put(self, serial: str, entry: _Entry) -> None:
        if self._ttl <= 0:
            return
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[serial] = entry

    def forget(self, serial: str) -> None:
        self._entries.pop(serial, None)

    @property
    def ttl(self) -> float:
        return self._ttl


class Verifier:
    def __init__(self, uow: UnitOfWork, keys: CertificateKeys, cache: VerificationCache) -> None:
        self._uow = uow
        self._keys = keys
        self._public = keys.public_keys()
        self._cache = cache

    async def by_code(self, serial_number: str, verification_code: str) -> Answer:
        check = Validator()
        check.require(serial_number.strip(), "serial_number")
        check.require(verification_code.strip(), "verification_code")
        check.check()
        entry = await self._entry(serial_number.strip())
        if entry.view is None or not hmac.compare_digest(
            normalize_code(verification_code).encode(), entry.view.document.verification_code.encode()
        ):
            return UNKNOWN
        return entry.answer

    async def by_token(self, token: str) -> Answer:
        check = Validator()
        check.require(token.strip(), "token")
        check.check()
        try:
            claims = read_token(token.strip(), self._public)
        except TokenRejected:
            return TAMPERED
        entry = await self._entry(claims.serial_number)
        if entry.view is None:
            return UNKNOWN
        if entry.answer.result in (Result.VALID, Result.REVOKED) and not same_digest(claims.digest, entry.digest):
            return TAMPERED
        return entry.answer

    async def _entry(self, serial: str) -> _Entry:
        cached = self._cache.get(serial)
        if cached is not None:
            return cached
        async with self._uow.read() as session:
            row = (await session.execute(by_serial(serial))).one_or_none()
            erased = row is not None and (
                await session.scalar(
                    select(certificate_erasures.c.erased_at).where(certificate_erasures.c.certificate_id == row.id)
                )
                is not None
            )
        expires = time.monotonic() + self._cache.ttl
        if row is None:
            entry = _Entry(expires, None, UNKNOWN, b"")
        else:
            view = view_of(row)
            answer = RETENTION_ENDED if erased else self.judge(view)
            entry = _Entry(expires, view, answer, view.document.digest())
        self._cache.put(serial, entry)
        return entry

    def judge(self, view: CertificateView) -> Answer:
        """What a stored certificate says about itself: tampered unless its signature checks."""
        if not self._keys.verify(view.document, view.key_id, view.signature):
            return TAMPERED
        if view.status == REVOKED:
            return Answer(Result.REVOKED, view, view.revoked_at, view.revocation_reason)
        return Answer(Result.VALID, view)


async def listen_for_revocations(nats: NatsConnection, cache: VerificationCache) -> None:
    """Forget a revoked certificate's cached answer on this replica (runs until cancelled)."""

    async def forget(msg) -> None:  # type: ignore[no-untyped-def]
        try:
            cache.forget(cev.CertificateRevoked.FromString(msg.data).serial_number)
        except Exception:  # a malformed message must not stop the subscription
            log.warning("could not read a certificate.revoked message on %s", msg.subject)

    await nats.wait_ready()
    # The client re-subscribes by itself after a reconnect.
    subscription = await nats.client.subscribe(REVOKED_SUBJECT, cb=forget)
    try:
        await asyncio.Event().wait()
    finally:
        try:
            await subscription.unsubscribe()
        except Exception:  # the connection may be closed already at shutdown
            pass
