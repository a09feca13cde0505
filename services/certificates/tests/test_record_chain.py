"""Certificate issuances and revocations are chained (docs/records.md): tampering with either is
named by VerifyChain and the verify command."""

from __future__ import annotations

from training.certificates.v1 import certificates_pb2 as pb
from training.common.v1 import common_pb2 as R
from training.records.v1 import records_pb2_grpc
from training_certificates.chains import CHAINS, ISSUANCES, REVOCATIONS
from training_records.testing import ChainTamper, assert_tampering_named, chain_verifier


async def test_tampering_with_issuances_and_revocations_is_named(
    graduation, certificates_channel, certificates_database, people
) -> None:  # type: ignore[no-untyped-def]
    regulator = await people.account(R.ROLE_REGULATOR, region_code="440000")
    for _ in range(2):
        graduate = await graduation.graduate()
        await graduation.publish(graduate.class_opened())
        await graduation.publish(graduate.enrollment_created(), graduate.class_completed(), graduate.attempt_graded())
        certificate = await graduation.certificate(graduate)
        await graduation.stub.RevokeCertificate(
            pb.RevokeCertificateRequest(certificate_id=certificate.certificate_id, reason="学时造假"),
            metadata=regulator.metadata,
        )
    stub = records_pb2_grpc.RecordChainServiceStub(certificates_channel)

    verify = chain_verifier(stub, people.operator.metadata)

    tamper = ChainTamper(certificates_database, CHAINS)
    await assert_tampering_named(
        tamper,
        verify,
        service="certificates",
        chain=ISSUANCES,
        env_prefix="CERTIFICATES_",
        edit="total_hours = total_hours + 8",
        clone={"serial_number": "serial_number || 'X'", "enrollment_id": "gen_random_uuid()"},
    )
    await assert_tampering_named(
        tamper,
        verify,
        service="certificates",
        chain=REVOCATIONS,
        env_prefix="CERTIFICATES_",
        edit="revocation_reason = '误操作'",
        clone={"serial_number": "serial_number || 'Y'", "enrollment_id": "gen_random_uuid()"},
    )
