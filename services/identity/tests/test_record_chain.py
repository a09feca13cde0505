"""Face-check records are chained (docs/records.md): tampering with one is named by VerifyChain and
the verify command; a trainee may not verify."""

from __future__ import annotations

import grpc

from training.identity.v1 import identity_pb2 as pb
from training.records.v1 import records_pb2 as rpb
from training.records.v1 import records_pb2_grpc
from training_identity.chains import CHAINS, FACE_CHECKS
from training_records.testing import ChainTamper, assert_tampering_named, chain_verifier
from training_testkit.rpc import rpc_failure


async def test_tampering_with_face_checks_is_named(
    identity_stub, identity_channel, identity_database, people, face_photos
) -> None:  # type: ignore[no-untyped-def]
    trainee = await people.enrolled_trainee()
    for photo in ("obama2.jpg", "biden.jpg"):
        await identity_stub.VerifyFace(
            pb.VerifyFaceRequest(
                user_id=trainee.user_id, image=face_photos[photo], purpose=pb.FACE_CHECK_PURPOSE_STUDY_RANDOM
            ),
            metadata=trainee.metadata,
        )
    stub = records_pb2_grpc.RecordChainServiceStub(identity_channel)

    verify = chain_verifier(stub, people.operator.metadata)

    await assert_tampering_named(
        ChainTamper(identity_database, CHAINS),
        verify,
        service="identity",
        chain=FACE_CHECKS,
        env_prefix="IDENTITY_",
        edit="outcome = 'MATCH'",
    )
    await rpc_failure(
        stub.VerifyChain(rpb.VerifyChainRequest(), metadata=trainee.metadata), grpc.StatusCode.PERMISSION_DENIED
    )
