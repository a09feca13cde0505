"""Records queued for the province are chained as queued, and each acknowledgement as received
(docs/records.md): tampering with either is named by VerifyChain and the verify command, while
delivery state changes freely."""

from __future__ import annotations

from training.records.v1 import records_pb2_grpc
from training_records.testing import ChainTamper, assert_tampering_named, chain_verifier
from training_supervision.chains import CHAINS, PUSH_RECEIPTS, PUSH_RECORDS


async def test_tampering_with_push_records_is_named(
    scenario, people, supervision_channel, supervision_database
) -> None:  # type: ignore[no-untyped-def]
    institution = await people.institution("440106")
    learner = await scenario.learner(institution.institution_id)
    await scenario.publish(learner.enrollment_created(), learner.hours_credited(0), learner.hours_credited(1))
    # Acknowledgement changes status, attempts and receipt: none of them is hashed.
    await scenario.acknowledged(4, trainee_id=learner.trainee.user_id)
    stub = records_pb2_grpc.RecordChainServiceStub(supervision_channel)

    verify = chain_verifier(stub, people.operator.metadata)

    await assert_tampering_named(
        ChainTamper(supervision_database, CHAINS),
        verify,
        service="supervision",
        chain=PUSH_RECORDS,
        env_prefix="SUPERVISION_",
        edit="hours = coalesce(hours, 0) + 1",
        clone={"idempotency_key": "idempotency_key || '-forged'", "sequence": "sequence + 1000"},
    )
    await assert_tampering_named(
        ChainTamper(supervision_database, CHAINS),
        verify,
        service="supervision",
        chain=PUSH_RECEIPTS,
        env_prefix="SUPERVISION_",
        edit="receipt_id = receipt_id || 'x'",
        clone={"receipt_id": "receipt_id || '-forged'"},
    )
