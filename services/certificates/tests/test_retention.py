"""A certificate is kept until its issuance or revocation, whichever is later, plus the years courses
announced for the class; the date lives on the enrollment's facts, not on the chained certificate."""

from __future__ import annotations

import uuid

import asyncpg

from training.certificates.v1 import certificates_pb2 as pb
from training.common.v1 import common_pb2
from training_certificates.retention import CERTIFICATE_DATING
from training_runtime.retention import date_enrollments


async def retention(certificates_database: str, enrollment_id: str) -> asyncpg.Record:
    conn = await asyncpg.connect(certificates_database)
    try:
        return await conn.fetchrow(
            "SELECT f.retention_years, f.retention_until, c.issued_at, c.revoked_at"
            " FROM enrollment_facts f JOIN certificates c USING (enrollment_id) WHERE f.enrollment_id = $1",
            uuid.UUID(enrollment_id),
        )
    finally:
        await conn.close()


async def date(certificates_app) -> int:  # type: ignore[no-untyped-def]
    async with certificates_app.context.uow.begin() as tx:
        return await date_enrollments(tx.session, CERTIFICATE_DATING)


async def test_a_certificate_is_kept_the_announced_years_after_its_last_change(  # type: ignore[no-untyped-def]
    graduation, people, certificates_app, certificates_database
) -> None:
    graduate = await graduation.graduate()
    graduate.retention_years = 6
    await graduation.publish(*graduate.training())
    certificate = await graduation.certificate(graduate)

    await date(certificates_app)
    issued = await retention(certificates_database, graduate.enrollment_id)
    assert issued["retention_years"] == 6
    assert issued["retention_until"] == issued["issued_at"].replace(year=issued["issued_at"].year + 6)
    await date(certificates_app)  # a second pass moves nothing
    again = await retention(certificates_database, graduate.enrollment_id)
    assert again["retention_until"] == issued["retention_until"]

    admin = await people.account(common_pb2.ROLE_INSTITUTION_ADMIN, institution_id=graduate.institution_id)
    await graduation.stub.RevokeCertificate(
        pb.RevokeCertificateRequest(certificate_id=certificate.certificate_id, reason="培训记录造假"),
        metadata=admin.metadata,
    )
    await date(certificates_app)
    revoked = await retention(certificates_database, graduate.enrollment_id)
    assert revoked["retention_until"] == revoked["revoked_at"].replace(year=revoked["revoked_at"].year + 6)
    assert revoked["retention_until"] > issued["retention_until"]
