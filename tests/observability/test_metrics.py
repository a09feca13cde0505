"""The metrics docs/operations.md lists, read through an in-memory metric reader after real traffic
against the real services: per-RPC rate, errors and duration; the outbox backlog and its age;
consumer lag; the supervision push backlog by status with its oldest age; face verification time."""

from __future__ import annotations

import grpc
import pytest

from training.common.v1 import common_pb2
from training.identity.v1 import identity_pb2 as ipb
from training.supervision.v1 import supervision_pb2 as spb
from training_identity.testing import OPERATOR_PASSWORD, FacePhotos
from training_testkit import wait_until
from training_testkit.rpc import rpc_failure
from training_testkit.telemetry import read_metrics

pytestmark = pytest.mark.slow
FACES = FacePhotos()
LOGIN = "/training.identity.v1.IdentityService/Login"


def rpc_count(method: str, code: str) -> int:
    return sum(
        point.count
        for attributes, point in read_metrics().get("rpc.server.duration", [])
        if attributes.get("rpc.method") == method and attributes.get("rpc.grpc.status_code") == code
    )


def gauge(name: str, **labels: str) -> list[float]:
    return [
        point.value
        for attributes, point in read_metrics().get(name, [])
        if all(attributes.get(k) == v for k, v in labels.items())
    ]


async def test_rpcs_are_counted_by_method_and_status_with_their_duration(identity_stub, people) -> None:
    refused_before = rpc_count(LOGIN, "UNAUTHENTICATED")
    await rpc_failure(
        identity_stub.Login(ipb.LoginRequest(login="nobody-here", password="wrong-password")),
        grpc.StatusCode.UNAUTHENTICATED,
    )
    await identity_stub.Login(ipb.LoginRequest(login=people.operator.login, password=OPERATOR_PASSWORD))

    assert rpc_count(LOGIN, "UNAUTHENTICATED") == refused_before + 1
    assert rpc_count(LOGIN, "OK") >= 1
    (point,) = [
        p
        for attributes, p in read_metrics()["rpc.server.duration"]
        if attributes == {"rpc.service": "identity", "rpc.method": LOGIN, "rpc.grpc.status_code": "UNAUTHENTICATED"}
    ]
    assert point.sum > 0  # milliseconds, a histogram: count is the rate, the status code the errors


async def test_face_verification_time_is_a_histogram_by_purpose_and_outcome(identity_stub, people) -> None:
    trainee = await people.enrolled_trainee(FACES["obama.jpg"])

    def verifications(outcome: str) -> int:
        return sum(
            point.count
            for attributes, point in read_metrics().get("face.verification.duration", [])
            if attributes == {"purpose": "self_test", "outcome": outcome}
        )

    matched, refused = verifications("match"), verifications("no_match")
    for photo in ("obama2.jpg", "biden.jpg"):
        await identity_stub.VerifyFace(
            ipb.VerifyFaceRequest(
                user_id=trainee.user_id,
                image=FACES[photo],
                purpose=ipb.FACE_CHECK_PURPOSE_SELF_TEST,
                context_ref="metrics-test",
            ),
            metadata=trainee.metadata,
        )
    assert verifications("match") == matched + 1
    assert verifications("no_match") == refused + 1


async def test_the_outbox_backlog_and_consumer_lag_are_reported_per_service(
    certificates_app, exams_app, supervision_app
) -> None:
    for service in ("identity", "courses", "learning", "exams", "certificates", "supervision"):
        assert gauge("outbox.backlog", service=service), f"no outbox.backlog for {service}"
        assert all(v >= 0 for v in gauge("outbox.oldest_age", service=service))
    for consumer in ("certificates-learning", "exams-learning", "supervision-certificates"):
        assert gauge("consumer.lag", consumer=consumer), f"no consumer.lag for {consumer}"
    assert "consumer.dead_lettered" in read_metrics()


async def failed_pushes(stub, operator) -> set[str]:  # type: ignore[no-untyped-def]
    """The ids of every failed push record (all pages)."""
    found: set[str] = set()
    token = ""
    while True:
        listed = await stub.ListFailedPushes(
            spb.ListFailedPushesRequest(page=common_pb2.PageRequest(page_size=100, page_token=token)),
            metadata=operator,
        )
        found |= {r.record_id for r in listed.records}
        token = listed.next_page_token
        if not token:
            return found


async def test_the_push_backlog_shows_records_the_province_does_not_take(
    supervision_app, supervision_stub, province_faults, people
) -> None:
    operator = people.operator.metadata
    # Start from a quiet queue, so the outage below fails only this test's records.
    await wait_until(
        lambda: (
            gauge("supervision.push.backlog", status="pending") == [0]
            and gauge("supervision.push.backlog", status="sent") == [0]
        ),
        timeout=30,
        what="the push queue to drain",
    )
    known = await failed_pushes(supervision_stub, operator)

    province_faults.set_faults(fail_ratio=1.0)  # every push answered 503 until the province recovers
    await people.trainee()  # supervision queues the new trainee's record for the province

    async def newly_failed() -> set[str]:
        return await failed_pushes(supervision_stub, operator) - known

    # Retried with backoff until out of attempts, then failed: the gauges show it, with its age.
    failed = await wait_until(newly_failed, timeout=30, what="the trainee's record to fail")
    await wait_until(
        lambda: any(v >= len(known) + len(failed) for v in gauge("supervision.push.backlog", status="failed")),
        timeout=10,
        what="the failed count in the push backlog gauge",
    )
    assert any(v > 0 for v in gauge("supervision.push.oldest_age", status="failed"))

    # The operator's recovery: the province is back, the failed records are retried and delivered.
    province_faults.set_faults(fail_ratio=0.0)
    failed = await newly_failed()
    retried = await supervision_stub.RetryFailedPushes(
        spb.RetryFailedPushesRequest(record_ids=sorted(failed)), metadata=operator
    )
    assert retried.requeued == len(failed)
    await wait_until(
        lambda: gauge("supervision.push.backlog", status="failed") == [len(known)],
        timeout=15,
        what="the retried records to leave the failed count",
    )
