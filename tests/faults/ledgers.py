"""After the traffic: everything drained, every fact present exactly once, the ledgers agreeing.

- Drained: no unpublished outbox row in any service, no JetStream consumer with events pending or
  unacknowledged, no supervision push record other than acknowledged.
- Exactly once, per trainee: each CREDIT entry of learning's ledger reaches the province as one hour
  record (by entry id), each graded final attempt as one exam result, the enrollment's completion
  and certificate as one record each; certificates holds one certificate for the enrollment.
- Agreeing: the hours learning credited, the hours on the certificate and the hours the province
  holds are the same; the province received each trainee's records in sequence, with no gap.
"""

from __future__ import annotations

import math

import nats

from training.certificates.v1 import certificates_pb2 as cpb
from training.exams.v1 import exams_pb2 as xpb
from training.learning.v1 import learning_pb2 as lpb
from training_testkit import wait_until

from .cohort import Cohort
from .platform import SERVICES, Platform

# The faults rulebook's (the schema's default): a topic within a second of its requirement is complete.
COMPLETION_TOLERANCE_SECONDS = 1.0


async def undrained(platform: Platform) -> dict[str, int]:
    """What is still in flight: unpublished outbox rows per service, pending events per consumer,
    supervision records not yet acknowledged by the province."""
    left: dict[str, int] = {}
    for name in SERVICES:
        if backlog := await outbox_backlog(platform, name):
            left[f"outbox:{name}"] = backlog
    client = await nats.connect(platform.nats.url)
    try:
        js = client.jetstream()
        for stream in await js.streams_info():
            for consumer in await js.consumers_info(stream.config.name):
                pending = int(consumer.num_pending or 0) + int(consumer.num_ack_pending or 0)
                if pending:
                    left[f"consumer:{consumer.name}"] = pending
    finally:
        await client.close()
    for row in await platform.query(
        "supervision", "SELECT status, count(*) AS n FROM push_records WHERE status <> 'acknowledged' GROUP BY status"
    ):
        left[f"push:{row['status']}"] = row["n"]
    return left


async def wait_drained(platform: Platform, timeout: float = 60) -> None:
    async def empty() -> bool:
        return not await undrained(platform)

    try:
        await wait_until(empty, timeout=timeout, what="every outbox, consumer and push queue to drain")
    except AssertionError as error:
        raise AssertionError(f"{error}; still in flight: {await undrained(platform)}") from None


def province_records(platform: Platform, trainee_id: str) -> list[dict]:
    """The records the province holds of one trainee, in the order they arrived."""
    return [
        s.record for s in platform.province.store.in_arrival_order() if s.record["order_key"] == f"trainee:{trainee_id}"
    ]


def at_completion(credits: list[lpb.LedgerEntry], progress: lpb.Progress) -> float:
    """The hours credited when the enrollment's single topic first met its requirement."""
    (topic,) = progress.topics
    required = topic.required_hours * progress.class_hour_seconds
    running = 0.0
    for entry in sorted(credits, key=lambda e: e.sequence):
        running += entry.credited_seconds
        if running + COMPLETION_TOLERANCE_SECONDS >= required:
            return running / progress.class_hour_seconds
    raise AssertionError(f"learning's credits ({running} s) never met the requirement ({required} s)")


async def assert_ledgers_agree(platform: Platform, cohort: Cohort) -> None:
    await wait_drained(platform)
    staff = cohort.staff
    operator = staff.operator.metadata
    admin = cohort.opened.school.admin.metadata
    for trainee in cohort.trainees:
        who, self = trainee.person.user_id, trainee.person.metadata
        progress = (
            await staff.learning.GetProgress(lpb.GetProgressRequest(enrollment_id=trainee.enrollment_id), metadata=self)
        ).progress
        assert progress.state == lpb.ENROLLMENT_STATE_COMPLETED
        entries = (
            await staff.learning.ExplainHours(
                lpb.ExplainHoursRequest(enrollment_id=trainee.enrollment_id), metadata=self
            )
        ).entries
        credits = [e for e in entries if e.kind == lpb.LEDGER_ENTRY_KIND_CREDIT]
        assert len({e.entry_id for e in entries}) == len(entries), "a ledger entry appears twice"
        credited_hours = sum(e.credited_seconds for e in credits) / progress.class_hour_seconds
        assert math.isclose(credited_hours, progress.credited_hours, abs_tol=1e-6)

        certificates = [
            c
            for c in (
                await staff.certificates.ListCertificates(
                    cpb.ListCertificatesRequest(trainee_id=who), metadata=operator
                )
            ).certificates
            if c.enrollment_id == trainee.enrollment_id
        ]
        assert len(certificates) == 1, f"{len(certificates)} certificates for one enrollment"
        (certificate,) = certificates
        # The certificate states the hours learning reported when the class completed: the credits
        # up to the first that met the requirement (within the rulebook's completion tolerance).
        assert math.isclose(certificate.total_hours, round(at_completion(credits, progress), 2), abs_tol=1e-9), (
            certificate.total_hours,
            [e.credited_seconds for e in credits],
        )

        attempts = (
            await staff.exams.ListAttempts(
                xpb.ListAttemptsRequest(exam_id=cohort.exam.exam_id, trainee_id=who), metadata=admin
            )
        ).attempts
        graded = [a for a in attempts if a.status == xpb.ATTEMPT_STATUS_GRADED]
        assert len(graded) == 1, attempts
        assert graded[0].passed

        held = province_records(platform, who)
        of = {kind: [r for r in held if r["record_type"] == kind] for kind in {r["record_type"] for r in held}}
        hour_records = of.get("hour_record", [])
        assert sorted(r["data"]["entry_id"] for r in hour_records) == sorted(e.entry_id for e in credits), (
            "the province's hour records are not learning's credit entries, each once"
        )
        assert math.isclose(sum(r["data"]["credited_hours"] for r in hour_records), credited_hours, abs_tol=1e-6)
        assert [r["data"]["attempt_id"] for r in of.get("exam_result", [])] == [graded[0].attempt_id]
        completions = of.get("completion", [])
        assert [r["data"]["enrollment_id"] for r in completions] == [trainee.enrollment_id]
        assert math.isclose(completions[0]["data"]["total_credited_hours"], at_completion(credits, progress))
        issued = [r for r in of.get("certificate", []) if r["operation"] == "issued"]
        assert [r["data"]["serial_number"] for r in issued] == [certificate.serial_number]
        assert [r["sequence"] for r in held] == list(range(1, len(held) + 1)), (
            "the province did not receive the trainee's records in sequence, each once: "
            f"{[(r['sequence'], r['record_type']) for r in held]}"
        )


async def outbox_backlog(platform: Platform, name: str) -> int:
    """Events `name` has committed and not yet published."""
    (row,) = await platform.query(name, "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL")
    return int(row["n"])
