"""Delivery to the province: every record exactly once and in order per trainee however unreliable
the link (failures, timeouts after storing, double acknowledgements, slowness); personal data only
from identity and only where the province needs it; rejected and exhausted records on the
failed-push list until an operator retries them."""

from __future__ import annotations

from collections import Counter

import grpc
import pytest

from training.identity.v1 import identity_pb2 as ipb
from training.supervision.v1 import supervision_pb2 as pb
from training_testkit import wait_until
from training_testkit.rpc import rpc_failure

pytestmark = pytest.mark.slow


async def test_every_record_arrives_exactly_once_and_in_order_despite_failures_and_timeouts(
    scenario, province_faults, people
) -> None:
    institution = await people.institution("440106")
    learners = [await scenario.learner(institution.institution_id) for _ in range(6)]
    await scenario.settled()
    province_faults.set_faults(fail_ratio=0.3, timeout_ratio=0.15, hang_seconds=1.5)
    before = province_faults.counters.timed_out_on_purpose, province_faults.counters.failed_on_purpose

    for learner in learners:
        await scenario.publish(learner.enrollment_created(), *(learner.hours_credited(n) for n in range(5)))
    expected = {}
    for learner in learners:
        # trainee, enrollment and five hour records
        expected[learner.trainee.user_id] = await scenario.acknowledged(7, trainee_id=learner.trainee.user_id)

    counters = province_faults.counters
    assert counters.timed_out_on_purpose > before[0], "no push timed out: the scenario proved nothing"
    assert counters.failed_on_purpose > before[1], "no push failed: the scenario proved nothing"
    for learner in learners:
        ours = sorted(expected[learner.trainee.user_id], key=lambda r: r.sequence)
        held = scenario.held(f"trainee:{learner.trainee.user_id}")
        assert [r["idempotency_key"] for r in held] == [r.idempotency_key for r in ours]
        assert Counter(r["idempotency_key"] for r in held).most_common(1)[0][1] == 1
        assert [r["sequence"] for r in held] == sorted(r["sequence"] for r in held)
        assert held[0]["record_type"] == "trainee"
        assert all(r.receipt_id for r in ours)


async def test_double_acknowledgements_and_slow_answers_change_nothing(scenario, province_faults, people) -> None:
    institution = await people.institution("440106")
    learner = await scenario.learner(institution.institution_id)
    province_faults.set_faults(double_ack=True, slow_ms=150)

    await scenario.publish(learner.enrollment_created(), learner.hours_credited(1))
    records = await scenario.acknowledged(3, trainee_id=learner.trainee.user_id)

    assert len(records) == 3
    assert len(scenario.held(f"trainee:{learner.trainee.user_id}")) == 3
    assert all(r.attempts == 1 for r in records)


async def test_personal_data_comes_from_identity_and_only_with_the_trainee_record(scenario, people) -> None:
    institution = await people.institution("440106")
    learner = await scenario.learner(institution.institution_id)
    await scenario.publish(learner.enrollment_created())
    await scenario.acknowledged(2, trainee_id=learner.trainee.user_id)
    user = (
        await people.stub.GetUser(
            ipb.GetUserRequest(user_id=learner.trainee.user_id), metadata=people.operator.metadata
        )
    ).user

    trainee_record, enrollment_record = scenario.held(f"trainee:{learner.trainee.user_id}")

    assert trainee_record["record_type"] == "trainee"
    assert trainee_record["data"]["person"] == {"name": user.display_name, "id_number": learner.trainee.login}
    assert "person" not in enrollment_record["data"]
    assert learner.trainee.login not in str(enrollment_record)


async def test_an_institutions_records_keep_their_order(scenario, people) -> None:
    institution = await people.institution("440106")
    await people.stub.SuspendInstitution(
        ipb.SuspendInstitutionRequest(institution_id=institution.institution_id, reason="例行检查"),
        metadata=people.operator.metadata,
    )
    await people.stub.ReinstateInstitution(
        ipb.ReinstateInstitutionRequest(institution_id=institution.institution_id, reason="检查通过"),
        metadata=people.operator.metadata,
    )
    await scenario.acknowledged(3, institution_id=institution.institution_id)

    held = scenario.held(f"institution:{institution.institution_id}")
    assert [(r["record_type"], r["operation"]) for r in held] == [
        ("institution", "registered"),
        ("institution", "suspended"),
        ("institution", "reinstated"),
    ]
    assert {r["region_code"] for r in held} == {"440106"}


async def test_a_rejected_record_waits_on_the_failed_list_and_holds_back_its_trainee(
    scenario, province_faults, people
) -> None:
    institution = await people.institution("440106")
    learner = await scenario.learner(institution.institution_id)
    await scenario.acknowledged(1, trainee_id=learner.trainee.user_id)  # the trainee record, from registration
    province_faults.set_faults(reject_ratio=1.0)
    await scenario.publish(learner.enrollment_created())

    async def failed():  # type: ignore[no-untyped-def]
        records = await scenario.records(trainee_id=learner.trainee.user_id)
        return [r for r in records if r.status == pb.PUSH_STATUS_FAILED] or None

    (first,) = await wait_until(failed, timeout=30, what="the rejection")
    assert first.record_type == pb.RECORD_TYPE_ENROLLMENT
    assert "rejected by the province" in first.last_error
    listed = await scenario.stub.ListFailedPushes(pb.ListFailedPushesRequest(), metadata=people.operator.metadata)
    assert first.record_id in {r.record_id for r in listed.records}
    province_faults.set_faults(reject_ratio=0)

    await scenario.publish(learner.hours_credited(1))

    async def hour_record():  # type: ignore[no-untyped-def]
        records = await scenario.records(trainee_id=learner.trainee.user_id)
        return [r for r in records if r.record_type == pb.RECORD_TYPE_HOUR_RECORD]

    (later,) = await wait_until(hour_record, what="the hour record to be queued")
    assert (later.status, later.attempts) == (pb.PUSH_STATUS_PENDING, 0)  # held back behind the failed one

    # Retrying every failed record also puts back any other scenario's casualties of the rejections.
    retried = await scenario.stub.RetryFailedPushes(pb.RetryFailedPushesRequest(), metadata=people.operator.metadata)
    assert retried.requeued >= 1
    await scenario.acknowledged(3, trainee_id=learner.trainee.user_id)
    held = scenario.held(f"trainee:{learner.trainee.user_id}")
    assert [r["record_type"] for r in held] == ["trainee", "enrollment", "hour_record"]


async def test_a_record_out_of_attempts_goes_to_the_failed_list(scenario, province_faults, people) -> None:
    institution = await people.institution("440106")
    learner = await scenario.learner(institution.institution_id)
    await scenario.acknowledged(1, trainee_id=learner.trainee.user_id)  # the trainee record, from registration
    province_faults.set_faults(fail_ratio=1.0)
    await scenario.publish(learner.enrollment_created())

    async def exhausted():  # type: ignore[no-untyped-def]
        records = await scenario.records(trainee_id=learner.trainee.user_id)
        return [r for r in records if r.status == pb.PUSH_STATUS_FAILED] or None

    (first,) = await wait_until(exhausted, timeout=30, what="the attempts to run out")
    assert first.record_type == pb.RECORD_TYPE_ENROLLMENT
    assert first.attempts == 8
    assert "gave up after 8 attempts" in first.last_error
    province_faults.set_faults(fail_ratio=0)
    await scenario.stub.RetryFailedPushes(pb.RetryFailedPushesRequest(), metadata=people.operator.metadata)
    await scenario.acknowledged(2, trainee_id=learner.trainee.user_id)


async def test_retrying_more_than_a_thousand_records_at_once_is_refused(supervision_stub, people) -> None:
    # Found by fuzzing: each of thousands of ids was parsed before any limit applied.
    failure = await rpc_failure(
        supervision_stub.RetryFailedPushes(
            pb.RetryFailedPushesRequest(record_ids=["x"] * 1001), metadata=people.operator.metadata
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert failure.fields == ("record_ids",)
