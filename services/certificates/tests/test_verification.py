"""Public verification: by serial number and code or by the QR token, without an account; a changed
byte anywhere (token, stored certificate) answers TAMPERED; the token checks offline with the
published key; revocation shows at verification with its date and reason; the PDF carries a QR code
that decodes to the token."""

from __future__ import annotations

import io
import uuid

import grpc
import pypdf
import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from training.certificates.v1 import certificates_pb2 as pb
from training.certificates.v1 import certificates_pb2_grpc
from training.common.v1 import common_pb2
from training_certificates.domain.signing import TokenRejected, read_token
from training_certificates.service import CertificatesService
from training_certificates.testing import certificates_settings
from training_runtime.clients import insecure_channel
from training_runtime.settings import normalize_database_url
from training_testkit import running_app, wait_until
from training_testkit.rpc import rpc_failure
from training_testkit.streams import published


async def issued(graduation) -> pb.Certificate:  # type: ignore[no-untyped-def]
    graduate = await graduation.graduate()
    await graduation.publish(*graduate.training())
    return await graduation.certificate(graduate)


async def by_code(stub, serial: str, code: str) -> pb.Verification:  # type: ignore[no-untyped-def]
    request = pb.VerifyCertificateRequest(serial_number=serial, verification_code=code)
    return (await stub.VerifyCertificate(request)).verification


async def by_token(stub, token: str) -> pb.Verification:  # type: ignore[no-untyped-def]
    return (await stub.VerifyCertificateToken(pb.VerifyCertificateTokenRequest(token=token))).verification


def change_one_byte(token: str, position: int) -> str:
    replacement = "A" if token[position] != "A" else "B"
    return token[:position] + replacement + token[position + 1 :]


async def published_keys(stub) -> dict[str, Ed25519PublicKey]:  # type: ignore[no-untyped-def]
    response = await stub.GetVerificationKeys(pb.GetVerificationKeysRequest())
    return {k.key_id: Ed25519PublicKey.from_public_bytes(k.public_key) for k in response.keys}


async def test_anyone_verifies_by_serial_and_code_without_an_account(graduation) -> None:
    certificate = await issued(graduation)

    verification = await by_code(graduation.stub, certificate.serial_number, certificate.verification_code.lower())

    assert verification.result == pb.VERIFICATION_RESULT_VALID
    assert verification.certificate.serial_number == certificate.serial_number
    assert verification.certificate.trainee_name == certificate.trainee_name
    assert verification.certificate.trainee_national_id == certificate.trainee_national_id
    assert "*" in verification.certificate.trainee_national_id


async def test_a_wrong_code_or_serial_is_unknown(graduation) -> None:
    certificate = await issued(graduation)

    wrong_code = await by_code(graduation.stub, certificate.serial_number, "ZZZZZZZZ")
    wrong_serial = await by_code(graduation.stub, "440106-1999-000001", certificate.verification_code)

    assert wrong_code.result == pb.VERIFICATION_RESULT_UNKNOWN
    assert not wrong_code.HasField("certificate")
    assert wrong_serial.result == pb.VERIFICATION_RESULT_UNKNOWN


async def test_missing_input_names_the_field(graduation) -> None:
    failure = await rpc_failure(
        graduation.stub.VerifyCertificate(pb.VerifyCertificateRequest()), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert set(failure.fields) == {"serial_number", "verification_code"}
    failure = await rpc_failure(
        graduation.stub.VerifyCertificateToken(pb.VerifyCertificateTokenRequest()), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert failure.fields == ("token",)


async def test_the_qr_token_verifies_online_and_offline(graduation) -> None:
    certificate = await issued(graduation)

    online = await by_token(graduation.stub, certificate.qr_token)
    offline = read_token(certificate.qr_token, await published_keys(graduation.stub))

    assert online.result == pb.VERIFICATION_RESULT_VALID
    assert offline.serial_number == certificate.serial_number
    assert offline.trainee_name == certificate.trainee_name
    assert offline.total_hours == f"{certificate.total_hours:.2f}"
    assert offline.key_id == certificate.key_id


async def test_a_changed_byte_in_the_token_is_tampered_online_and_offline(graduation) -> None:
    certificate = await issued(graduation)
    keys = await published_keys(graduation.stub)
    header, payload, _signature = certificate.qr_token.split(".")
    positions = [
        len(header) + 1 + len(payload) // 2,  # inside the claims
        len(header) + 1 + len(payload) + 1 + 10,  # inside the signature
    ]
    for position in positions:
        altered = change_one_byte(certificate.qr_token, position)

        assert (await by_token(graduation.stub, altered)).result == pb.VERIFICATION_RESULT_TAMPERED
        try:
            read_token(altered, keys)
        except TokenRejected:
            pass
        else:
            raise AssertionError(f"an altered token (byte {position}) passed the offline check")


async def test_a_changed_byte_in_the_stored_certificate_is_tampered(graduation, certificates_database) -> None:
    certificate = await issued(graduation)
    engine = create_async_engine(normalize_database_url(certificates_database))
    try:
        async with engine.begin() as conn:
            # Someone with database access raises the hours by one digit.
            await conn.execute(
                text("UPDATE certificates SET total_hours = 59 WHERE id = :id"), {"id": certificate.certificate_id}
            )
    finally:
        await engine.dispose()

    async def tampered():  # type: ignore[no-untyped-def]
        answer = await by_code(graduation.stub, certificate.serial_number, certificate.verification_code)
        return answer if answer.result == pb.VERIFICATION_RESULT_TAMPERED else None

    # The verification cache holds an answer for at most a couple of seconds.
    answer = await wait_until(tampered, timeout=10, what="the altered row to verify as tampered")
    assert not answer.HasField("certificate")
    assert (await by_token(graduation.stub, certificate.qr_token)).result == pb.VERIFICATION_RESULT_TAMPERED


async def test_a_token_signed_with_another_key_is_tampered(graduation) -> None:
    import jwt
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    certificate = await issued(graduation)
    claims = jwt.decode(certificate.qr_token, options={"verify_signature": False})
    forged = jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": certificate.key_id})

    assert (await by_token(graduation.stub, forged)).result == pb.VERIFICATION_RESULT_TAMPERED


async def test_revocation_shows_at_verification_with_date_and_reason(graduation, people, nats_server) -> None:
    graduate = await graduation.graduate()
    await graduation.publish(*graduate.training())
    certificate = await graduation.certificate(graduate)
    admin = await people.account(common_pb2.ROLE_INSTITUTION_ADMIN, institution_id=graduate.institution_id)
    assert (await by_token(graduation.stub, certificate.qr_token)).result == pb.VERIFICATION_RESULT_VALID

    revoked = (
        await graduation.stub.RevokeCertificate(
            pb.RevokeCertificateRequest(certificate_id=certificate.certificate_id, reason="培训记录造假"),
            metadata=admin.metadata,
        )
    ).certificate

    assert revoked.status == pb.CERTIFICATE_STATUS_REVOKED
    for verification in (
        await by_code(graduation.stub, certificate.serial_number, certificate.verification_code),
        await by_token(graduation.stub, certificate.qr_token),
    ):
        assert verification.result == pb.VERIFICATION_RESULT_REVOKED
        assert verification.revocation_reason == "培训记录造假"
        assert verification.revoked_at.ToDatetime() == revoked.revoked_at.ToDatetime()
        assert verification.certificate.serial_number == certificate.serial_number
    events = await wait_until(
        lambda: published(
            nats_server.url,
            "TRAINING_CERTIFICATES",
            "training.certificates.certificate.revoked.v1",
            certificate.certificate_id,
        ),
        what="the revoked event",
    )
    assert len(events) == 1


async def test_a_revoked_certificate_cannot_be_revoked_again(graduation, people) -> None:
    graduate = await graduation.graduate()
    await graduation.publish(*graduate.training())
    certificate = await graduation.certificate(graduate)
    regulator = await people.account(common_pb2.ROLE_REGULATOR, region_code="440100")
    request = pb.RevokeCertificateRequest(serial_number=certificate.serial_number, reason="监管撤销")
    await graduation.stub.RevokeCertificate(request, metadata=regulator.metadata)

    failure = await rpc_failure(
        graduation.stub.RevokeCertificate(request, metadata=regulator.metadata), grpc.StatusCode.FAILED_PRECONDITION
    )
    assert failure.reason == "CERTIFICATE_REVOKED"


async def test_the_pdf_carries_the_contents_and_a_qr_code_that_decodes_to_the_token(graduation, people) -> None:
    graduate = await graduation.graduate()
    await graduation.publish(*graduate.training())
    certificate = await graduation.certificate(graduate)

    response = await graduation.stub.RenderCertificatePdf(
        pb.RenderCertificatePdfRequest(certificate_id=certificate.certificate_id), metadata=graduate.trainee.metadata
    )

    reader = pypdf.PdfReader(io.BytesIO(response.pdf))
    (page,) = reader.pages
    content = page.extract_text()
    assert certificate.serial_number in content
    assert certificate.verification_code in content
    assert certificate.trainee_national_id in content
    (image,) = page.images
    (barcode,) = zxingcpp.read_barcodes(image.image)
    assert barcode.format == zxingcpp.BarcodeFormat.QRCode
    assert barcode.text == certificate.qr_token
    assert (await by_token(graduation.stub, barcode.text)).result == pb.VERIFICATION_RESULT_VALID
    assert response.file_name == f"certificate-{certificate.serial_number}.pdf"


async def test_unknown_certificate_is_not_found(graduation, people) -> None:
    await rpc_failure(
        graduation.stub.GetCertificate(
            pb.GetCertificateRequest(certificate_id=str(uuid.uuid4())), metadata=people.operator.metadata
        ),
        grpc.StatusCode.NOT_FOUND,
    )


async def test_a_revocation_reaches_every_replicas_cache_at_once(
    graduation, people, certificates_database, nats_server, identity_app, platform_secrets
) -> None:
    certificate = await issued(graduation)
    settings = certificates_settings(
        database_url=certificates_database,
        nats_url=nats_server.url,
        identity_port=identity_app.port,
        secrets=platform_secrets,
        verification_cache_seconds=300,  # only the revocation message can empty this cache in time
    )
    async with running_app(CertificatesService(), settings) as replica:
        channel = insecure_channel(f"127.0.0.1:{replica.port}")
        try:
            other = certificates_pb2_grpc.CertificatesServiceStub(channel)
            assert (await by_code(other, certificate.serial_number, certificate.verification_code)).result == (
                pb.VERIFICATION_RESULT_VALID
            )
            regulator = await people.account(common_pb2.ROLE_REGULATOR, region_code="440000")
            await graduation.stub.RevokeCertificate(
                pb.RevokeCertificateRequest(certificate_id=certificate.certificate_id, reason="伪造学时"),
                metadata=regulator.metadata,
            )

            async def revoked_there() -> bool:
                answer = await by_code(other, certificate.serial_number, certificate.verification_code)
                return answer.result == pb.VERIFICATION_RESULT_REVOKED

            await wait_until(revoked_there, timeout=5, what="the other replica to show the revocation")
        finally:
            await channel.close()
