"""Issuance: exactly one certificate per enrollment from completion plus a passed final exam, in any
order and however often the events come; nothing from failed or non-final exams, nothing while the
institution is suspended; automatic revocation when invalidated hours no longer meet the class."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from training.certificates.v1 import certificates_pb2 as pb
from training.common.v1 import common_pb2
from training.exams.v1 import exams_events_pb2 as xev
from training.identity.v1 import identity_pb2 as ipb
from training_testkit import wait_until
from training_testkit.streams import published

ORDERS = list(itertools.permutations(["enrollment", "completion", "exam"]))


@pytest.mark.parametrize("order", ORDERS, ids=["-".join(o) for o in ORDERS])
async def test_issued_exactly_once_whatever_the_order_and_duplicates(graduation, certificates_backlog, order) -> None:
    graduate = await graduation.graduate()
    passed = graduate.attempt_graded()
    events = {
        "enrollment": [graduate.enrollment_created()],
        "completion": [graduate.class_completed(), graduate.class_completed()],
        # The same attempt twice (redelivery), and a second passed final attempt with its own id.
        "exam": [passed, passed, graduate.attempt_graded(score=85)],
    }
    await graduation.publish(graduate.class_opened())
    for step in order:
        await graduation.publish(*events[step])
    certificate = await graduation.certificate(graduate)
    await certificates_backlog.drained()

    assert len(await graduation.certificates_of(graduate)) == 1
    assert certificate.exam_score == 92  # the first passed attempt is the one on the certificate
    assert certificate.status == pb.CERTIFICATE_STATUS_VALID


async def test_completion_and_exam_handled_at_the_same_moment_issue_once_each(graduation, certificates_backlog) -> None:
    graduates = [await graduation.graduate() for _ in range(8)]
    await graduation.publish(*[e for g in graduates for e in (g.class_opened(), g.enrollment_created())])
    await asyncio.gather(
        graduation.publish(*[g.class_completed() for g in graduates]),
        graduation.publish(*[g.attempt_graded() for g in graduates]),
    )
    for graduate in graduates:
        await graduation.certificate(graduate)
    await certificates_backlog.drained()

    counts = [len(await graduation.certificates_of(g)) for g in graduates]
    assert counts == [1] * len(graduates)


async def test_serial_numbers_are_region_year_and_a_sequence(graduation) -> None:
    first, second = await graduation.graduate(), await graduation.graduate()
    await graduation.publish(*first.training())
    a = await graduation.certificate(first)
    await graduation.publish(*second.training())
    b = await graduation.certificate(second)

    region, year, sequence = a.serial_number.split("-")
    assert region == "440106"
    assert year == a.issue_date[:4]
    assert int(b.serial_number.split("-")[2]) > int(sequence)


async def test_certificate_carries_the_training_facts_and_a_masked_id(graduation, people) -> None:
    graduate = await graduation.graduate()
    await graduation.publish(*graduate.training())
    certificate = await graduation.certificate(graduate)
    user = (
        await people.stub.GetUser(
            ipb.GetUserRequest(user_id=graduate.trainee.user_id), metadata=people.operator.metadata
        )
    ).user

    assert certificate.trainee_name == user.display_name
    assert certificate.trainee_national_id == graduate.trainee.login[:3] + "*" * 11 + graduate.trainee.login[-4:]
    assert certificate.qualification_type == common_pb2.QUALIFICATION_TYPE_SAFETY_MANAGER_HIGH_RISK
    assert certificate.training_kind == common_pb2.TRAINING_KIND_INITIAL
    assert [(t.topic_code, t.required_hours, t.credited_hours) for t in certificate.topics] == [
        ("law", 24, 24.5),
        ("hazard", 24, 24.5),
    ]
    assert certificate.total_hours == 49
    assert (certificate.exam_score, certificate.exam_max_points, certificate.exam_pass_mark) == (92, 100, 80)
    assert certificate.period_start.ToDatetime().date() == graduate.enrolled_at.date()
    assert certificate.institution_name.startswith("安全培训学校")
    assert certificate.valid_until > certificate.issue_date


@pytest.mark.parametrize(
    "exam",
    [
        {"passed": False},
        {"passed": True, "kind": xev.EXAM_KIND_MOCK},
        {"passed": True, "kind": xev.EXAM_KIND_PRACTICE},
    ],
    ids=["failed-final", "passed-mock", "passed-practice"],
)
async def test_no_certificate_without_a_passed_final_exam(graduation, certificates_backlog, exam) -> None:
    graduate = await graduation.graduate()
    await graduation.publish(
        graduate.class_opened(),
        graduate.enrollment_created(),
        graduate.class_completed(),
        graduate.attempt_graded(**exam),
    )
    await certificates_backlog.drained()

    assert await graduation.certificates_of(graduate) == []


async def test_no_certificate_without_completion(graduation, certificates_backlog) -> None:
    graduate = await graduation.graduate()
    await graduation.publish(graduate.class_opened(), graduate.enrollment_created(), graduate.attempt_graded())
    await certificates_backlog.drained()

    assert await graduation.certificates_of(graduate) == []


async def test_issued_event_is_published_once(graduation, certificates_backlog, nats_server) -> None:
    graduate = await graduation.graduate()
    await graduation.publish(*graduate.training(), graduate.attempt_graded())
    certificate = await graduation.certificate(graduate)

    async def events():  # type: ignore[no-untyped-def]
        return await published(
            nats_server.url,
            "TRAINING_CERTIFICATES",
            "training.certificates.certificate.issued.v1",
            certificate.certificate_id,
        )

    found = await wait_until(events, what="the issued event")
    await certificates_backlog.drained()
    assert len(await events()) == len(found) == 1


async def test_invalidation_that_undoes_the_hours_revokes_the_certificate(graduation, people) -> None:
    graduate = await graduation.graduate()
    await graduation.publish(*graduate.training())
    certificate = await graduation.certificate(graduate)
    regulator = await people.account(common_pb2.ROLE_REGULATOR, region_code="440000")

    await graduation.publish(graduate.hours_invalidated(requirements_met=True, actor=regulator))
    await graduation.publish(graduate.hours_invalidated(requirements_met=False, actor=regulator))

    async def revoked():  # type: ignore[no-untyped-def]
        (found,) = await graduation.certificates_of(graduate)
        return found if found.status == pb.CERTIFICATE_STATUS_REVOKED else None

    found = await wait_until(revoked, what="the automatic revocation")
    assert found.revocation_reason.startswith("hours invalidated")
    verification = (
        await graduation.stub.VerifyCertificate(
            pb.VerifyCertificateRequest(
                serial_number=certificate.serial_number, verification_code=certificate.verification_code
            )
        )
    ).verification
    assert verification.result == pb.VERIFICATION_RESULT_REVOKED


async def test_invalidation_that_keeps_the_requirement_met_leaves_the_certificate(
    graduation, certificates_backlog, people
) -> None:
    graduate = await graduation.graduate()
    await graduation.publish(*graduate.training())
    await graduation.certificate(graduate)
    await graduation.publish(graduate.hours_invalidated(requirements_met=True, actor=people.operator))
    await certificates_backlog.drained()

    (certificate,) = await graduation.certificates_of(graduate)
    assert certificate.status == pb.CERTIFICATE_STATUS_VALID


async def test_invalidation_before_the_exam_means_no_certificate(graduation, certificates_backlog, people) -> None:
    graduate = await graduation.graduate()
    await graduation.publish(graduate.class_opened(), graduate.enrollment_created(), graduate.class_completed())
    await graduation.publish(graduate.hours_invalidated(requirements_met=False, actor=people.operator))
    await certificates_backlog.drained()
    await graduation.publish(graduate.attempt_graded())
    await certificates_backlog.drained()

    assert await graduation.certificates_of(graduate) == []


async def test_suspended_institution_issues_nothing_until_reinstated(graduation, certificates_backlog, people) -> None:
    institution = await people.institution("440106")
    graduate = await graduation.graduate(institution_id=institution.institution_id)
    await people.stub.SuspendInstitution(
        ipb.SuspendInstitutionRequest(institution_id=institution.institution_id, reason="监管检查暂停"),
        metadata=people.operator.metadata,
    )
    await graduation.publish(*graduate.training())
    await certificates_backlog.drained()
    assert await graduation.certificates_of(graduate) == []

    await people.stub.ReinstateInstitution(
        ipb.ReinstateInstitutionRequest(institution_id=institution.institution_id, reason="整改完成"),
        metadata=people.operator.metadata,
    )
    await graduation.certificate(graduate)
