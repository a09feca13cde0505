"""A certificate is kept until its issuance or revocation, whichever is later, plus the years courses
announced for the class; the date lives on the enrollment's facts, not on the chained certificate."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg

from training.certificates.v1 import certificates_pb2 as pb
from training.common.v1 import common_pb2
from training_certificates.app.verification import VerificationCache
from training_certificates.chains import CHAINS, ISSUANCES
from training_certificates.retention import CERTIFICATE_DATING, ERASED_NAME, HolderErasure
from training_records import verify_chain
from training_runtime.clock import ManualClock
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


async def test_the_holder_is_erased_when_retention_ends_and_verification_says_so(  # type: ignore[no-untyped-def]
    graduation, people, certificates_app, certificates_database
) -> None:
    # A one-year retention (no shipped rulebook has one), so that no certificate of another test in
    # this database is due at the moment the erasure runs; a three-year one issued first stays.
    kept = await graduation.graduate()
    await graduation.publish(*kept.training())
    kept_certificate = await graduation.certificate(kept)
    short = await graduation.graduate()
    short.retention_years = 1
    await graduation.publish(*short.training())
    certificate = await graduation.certificate(short)
    await date(certificates_app)
    until = (await retention(certificates_database, short.enrollment_id))["retention_until"]
    uow = certificates_app.context.uow
    cache = VerificationCache(0)

    assert await HolderErasure(uow, ManualClock(until - timedelta(days=1)), cache).erase_due() == 0
    assert await HolderErasure(uow, ManualClock(until), cache).erase_due() == 1
    assert await HolderErasure(uow, ManualClock(until), cache).erase_due() == 0  # already erased

    conn = await asyncpg.connect(certificates_database)
    try:
        row = await conn.fetchrow(
            "SELECT trainee_name, trainee_national_id FROM certificates WHERE id = $1",
            uuid.UUID(certificate.certificate_id),
        )
        proof = await conn.fetchrow(
            "SELECT * FROM certificate_erasures WHERE certificate_id = $1", uuid.UUID(certificate.certificate_id)
        )
    finally:
        await conn.close()
    assert (row["trainee_name"], row["trainee_national_id"]) == (ERASED_NAME, "")
    assert (proof["erased_at"], proof["retention_until"], len(proof["digest"])) == (until, until, 64)

    stub = graduation.stub
    for verification in (
        (
            await stub.VerifyCertificate(
                pb.VerifyCertificateRequest(
                    serial_number=certificate.serial_number, verification_code=certificate.verification_code
                )
            )
        ).verification,
        (await stub.VerifyCertificateToken(pb.VerifyCertificateTokenRequest(token=certificate.qr_token))).verification,
    ):
        assert verification.result == pb.VERIFICATION_RESULT_RETENTION_ENDED
        assert not verification.certificate.trainee_name
    still = await stub.VerifyCertificateToken(pb.VerifyCertificateTokenRequest(token=kept_certificate.qr_token))
    assert still.verification.result == pb.VERIFICATION_RESULT_VALID
    # The issuance chain leaves the holder's name and number out: it still verifies.
    async with uow.read() as session:
        verification = await verify_chain(session, CHAINS, ISSUANCES)
    assert verification.first_break is None
