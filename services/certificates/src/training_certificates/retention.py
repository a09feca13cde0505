"""Retention of certificates (docs/records.md, "Retention").

An enrollment's certificate is kept until its issuance or revocation, whichever is later, plus the
class's rulebook years, dated on the enrollment's facts (never on the chained certificate row) by
`training_runtime.retention.RetentionDater`. When that date has passed, `HolderErasure` replaces the
holder's name and masked ID number on the certificate (columns the issuance chain leaves out for
this) and stores a proof; verification then answers RETENTION_ENDED, since the signature covered
what was erased.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime

from sqlalchemy import func, select, update

from training_certificates.app.verification import VerificationCache
from training_certificates.persistence.tables import certificate_erasures, certificates, enrollment_facts
from training_runtime.clock import Clock
from training_runtime.db import UnitOfWork
from training_runtime.retention import EnrollmentDating, erasure_digest

log = logging.getLogger(__name__)

CERTIFICATE_DATING = EnrollmentDating(
    enrollments=enrollment_facts,
    key=enrollment_facts.c.enrollment_id,
    years=enrollment_facts.c.retention_years,
    until=enrollment_facts.c.retention_until,
    record_enrollment=certificates.c.enrollment_id,
    record_at=func.greatest(certificates.c.issued_at, certificates.c.revoked_at),
)

# What an erased holder's name becomes; the masked ID number becomes empty.
ERASED_NAME = "(erased)"


def _sha256_hex(column):  # type: ignore[no-untyped-def]
    return func.encode(func.sha256(func.convert_to(column, "UTF8")), "hex")


class HolderErasure:
    """Erases the holder of every certificate whose retention has ended, one per transaction."""

    def __init__(
        self, uow: UnitOfWork, clock: Clock, cache: VerificationCache, *, interval_seconds: float = 3600.0
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._cache = cache
        self._interval = interval_seconds

    async def erase_due(self) -> int:
        now = self._clock.now()
        due = (
            select(certificates.c.id)
            .join(enrollment_facts, enrollment_facts.c.enrollment_id == certificates.c.enrollment_id)
            .where(
                enrollment_facts.c.retention_until <= now,
                ~select(certificate_erasures.c.certificate_id)
                .where(certificate_erasures.c.certificate_id == certificates.c.id)
                .exists(),
            )
        )
        async with self._uow.read() as session:
            ids = list((await session.execute(due)).scalars().all())
        erased = 0
        for certificate_id in ids:
            serial = await self._erase(certificate_id, now)
            if serial is not None:
                self._cache.forget(serial)
                erased += 1
        return erased

    async def _erase(self, certificate_id: uuid.UUID, now: datetime) -> str | None:
        async with self._uow.begin() as tx:
            row = (
                await tx.session.execute(
                    select(
                        certificates.c.serial_number,
                        certificates.c.enrollment_id,
                        enrollment_facts.c.retention_until,
                        _sha256_hex(certificates.c.trainee_name).label("trainee_name"),
                        _sha256_hex(certificates.c.trainee_national_id).label("trainee_national_id"),
                    )
                    .join(enrollment_facts, enrollment_facts.c.enrollment_id == certificates.c.enrollment_id)
                    .where(certificates.c.id == certificate_id)
                    .with_for_update(of=certificates)
                )
            ).one()
            already = await tx.session.scalar(
                select(certificate_erasures.c.certificate_id).where(
                    certificate_erasures.c.certificate_id == certificate_id
                )
            )
            if already is not None or row.retention_until is None or row.retention_until > now:
                return None
            await tx.session.execute(
                update(certificates)
                .where(certificates.c.id == certificate_id)
                .values(trainee_name=ERASED_NAME, trainee_national_id="")
            )
            fields = {"trainee_name": row.trainee_name, "trainee_national_id": row.trainee_national_id}
            await tx.session.execute(
                certificate_erasures.insert().values(
                    certificate_id=certificate_id,
                    enrollment_id=row.enrollment_id,
                    retention_until=row.retention_until,
                    erased_at=now,
                    digest=erasure_digest(f"certificate:{certificate_id}", "certificates", now, fields),
                )
            )
        return row.serial_number

    async def run(self) -> None:
        while True:
            try:
                erased = await self.erase_due()
                if erased:
                    log.info("erased the holders of %d certificates whose retention ended", erased)
            except Exception:
                log.exception("certificate erasure failed; the next pass retries")
            await asyncio.sleep(self._interval)
