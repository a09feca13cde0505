"""Regulator commands from the province: applied through the owning services as the command (a
regulator of the command's region), with the command recorded as the actor; refused outside the
region or the province; the outcome reported back. A suspension takes effect across the platform."""

from __future__ import annotations

import uuid

import grpc
import pytest

from training.certificates.v1 import certificates_pb2 as cpb
from training.common.v1 import common_pb2
from training.courses.v1 import courses_pb2 as coursepb
from training.identity.v1 import identity_events_pb2
from training.identity.v1 import identity_pb2 as ipb
from training.supervision.v1 import supervision_pb2 as pb
from training_runtime.auth.commands import command_metadata
from training_testkit import wait_until
from training_testkit.rpc import rpc_failure
from training_testkit.streams import published

pytestmark = pytest.mark.slow


async def settled(scenario, command_id: str) -> pb.RegulatorCommand:  # type: ignore[no-untyped-def]
    async def find():  # type: ignore[no-untyped-def]
        listed = await scenario.stub.ListRegulatorCommands(
            pb.ListRegulatorCommandsRequest(), metadata=scenario.people.operator.metadata
        )
        match = [c for c in listed.commands if c.command_id == command_id]
        return (
            match[0] if match and match[0].status != pb.COMMAND_STATUS_RECEIVED and match[0].outcome_reported else None
        )

    return await wait_until(find, timeout=30, what=f"command {command_id} to be settled and reported")


async def test_a_regulator_command_suspends_an_institution_across_the_platform(
    scenario, people, campus, graduation, certificates_backlog, nats_server
) -> None:
    school = await campus.school("440106")
    graduate = await graduation.graduate(institution_id=school.institution_id)
    syllabus = await campus.syllabus()
    courses = [await campus.published_course(school, syllabus, code) for code in ("law", "safety")]
    command = scenario.province.issue_command(
        "suspend_institution", "440100", school.institution_id, "违规组织培训，责令暂停"
    )

    outcome = await settled(scenario, command.command_id)

    assert outcome.status == pb.COMMAND_STATUS_APPLIED
    assert scenario.province.store.command(command.command_id).outcome["status"] == "applied"
    # identity: suspended, the command recorded as the actor
    institution = (
        await people.stub.GetInstitution(
            ipb.GetInstitutionRequest(institution_id=school.institution_id), metadata=people.operator.metadata
        )
    ).institution
    assert institution.status == ipb.INSTITUTION_STATUS_SUSPENDED
    (event,) = await wait_until(
        lambda: published(
            nats_server.url, "TRAINING_IDENTITY", "training.identity.institution.suspended.v1", school.institution_id
        )
    )
    suspended = identity_events_pb2.InstitutionSuspended.FromString(event.data)
    assert suspended.actor_id == f"regulator-command:{command.command_id}"
    assert suspended.actor_role == common_pb2.ROLE_REGULATOR

    # courses: the institution can open no class
    request = coursepb.OpenClassRequest(
        title="暂停期间开班", syllabus_id=syllabus.syllabus_id, course_ids=[c.course_id for c in courses]
    )

    async def refused() -> bool:
        try:
            await campus.stub.OpenClass(request, metadata=school.admin.metadata)
        except grpc.aio.AioRpcError as exc:
            return exc.code() == grpc.StatusCode.FAILED_PRECONDITION and "suspended" in (exc.details() or "")
        raise AssertionError("a suspended institution opened a class")

    await wait_until(refused, what="courses to refuse classes of the suspended institution")
    # certificates: nothing is issued while suspended
    await graduation.publish(*graduate.training())
    await certificates_backlog.drained()
    assert await graduation.certificates_of(graduate) == []
    # the province hears of the suspension as a record too
    await scenario.acknowledged(4, institution_id=school.institution_id)
    held = scenario.held(f"institution:{school.institution_id}")
    operations = [r["operation"] for r in held if r["record_type"] == "institution"]
    assert operations == ["registered", "suspended"]


async def test_a_command_from_a_region_that_does_not_cover_the_target_is_refused(scenario, people) -> None:
    institution = await people.institution("440106")  # Guangzhou, Haizhu
    command = scenario.province.issue_command("suspend_institution", "440300", institution.institution_id, "越区指令")

    outcome = await settled(scenario, command.command_id)

    assert outcome.status == pb.COMMAND_STATUS_REJECTED
    assert "NOT_FOUND" in outcome.detail  # a regulator of Shenzhen does not see a Guangzhou institution
    assert scenario.province.store.command(command.command_id).outcome["status"] == "rejected"
    still = await people.stub.GetInstitution(
        ipb.GetInstitutionRequest(institution_id=institution.institution_id), metadata=people.operator.metadata
    )
    assert still.institution.status == ipb.INSTITUTION_STATUS_ACTIVE


async def test_a_command_outside_the_province_is_refused_without_asking_anyone(scenario, people) -> None:
    institution = await people.institution("310104")
    command = scenario.province.issue_command("suspend_institution", "310000", institution.institution_id, "外省指令")

    outcome = await settled(scenario, command.command_id)

    assert outcome.status == pb.COMMAND_STATUS_REJECTED
    assert "not within province 440000" in outcome.detail


async def test_a_command_revokes_a_certificate_and_the_revocation_reaches_the_province(
    scenario, graduation, people
) -> None:
    graduate = await graduation.graduate()
    await graduation.publish(*graduate.training())
    certificate = await graduation.certificate(graduate)
    command = scenario.province.issue_command(
        "revoke_certificate", "440000", certificate.serial_number, "证书信息与培训记录不符"
    )

    outcome = await settled(scenario, command.command_id)

    assert outcome.status == pb.COMMAND_STATUS_APPLIED
    verification = (
        await graduation.stub.VerifyCertificate(
            cpb.VerifyCertificateRequest(
                serial_number=certificate.serial_number, verification_code=certificate.verification_code
            )
        )
    ).verification
    assert verification.result == cpb.VERIFICATION_RESULT_REVOKED
    assert verification.revocation_reason == "证书信息与培训记录不符"

    async def revoked_at_the_province():  # type: ignore[no-untyped-def]
        held = scenario.held(f"trainee:{graduate.trainee.user_id}")
        return [r for r in held if r["record_type"] == "certificate" and r["operation"] == "revoked"]

    (record,) = await wait_until(revoked_at_the_province, timeout=30, what="the revocation at the province")
    assert record["data"]["serial_number"] == certificate.serial_number
    assert record["data"]["actor_id"] == f"regulator-command:{command.command_id}"
    operations = [(r["record_type"], r["operation"]) for r in scenario.held(f"trainee:{graduate.trainee.user_id}")]
    assert operations.index(("certificate", "issued")) < operations.index(("certificate", "revoked"))


async def test_a_command_withdraws_a_course(scenario, campus) -> None:
    school = await campus.school("440106")
    syllabus = await campus.syllabus()
    course = await campus.published_course(school, syllabus, "law")
    command = scenario.province.issue_command("withdraw_course", "440106", course.course_id, "课程内容违规")

    outcome = await settled(scenario, command.command_id)

    assert outcome.status == pb.COMMAND_STATUS_APPLIED
    withdrawn = await campus.stub.GetCourse(
        coursepb.GetCourseRequest(course_id=course.course_id), metadata=school.admin.metadata
    )
    assert withdrawn.course.status == coursepb.COURSE_STATUS_WITHDRAWN


async def test_a_repeated_command_is_answered_with_what_it_did_and_changes_nothing_more(
    people, campus, graduation, nats_server
) -> None:
    """Supervision died after the owning service applied a command and before it recorded that: the
    same command asked again is answered with the state it produced, not refused and not applied
    twice; another command finding the same state is refused as before."""
    supervision = await people.service("supervision")

    def as_command(command_id: str) -> tuple[tuple[str, str], ...]:
        return tuple(supervision.metadata) + command_metadata(command_id, "440000")

    first, other = f"cmd-{uuid.uuid4().hex[:12]}", f"cmd-{uuid.uuid4().hex[:12]}"
    school = await campus.school("440106")
    course = await campus.published_course(school, await campus.syllabus(), "law")
    graduate = await graduation.graduate()
    await graduation.publish(*graduate.training())
    certificate = await graduation.certificate(graduate)
    suspend = ipb.SuspendInstitutionRequest(institution_id=school.institution_id, reason="违规组织培训")
    withdraw = coursepb.WithdrawCourseRequest(course_id=course.course_id, reason="课程内容违规")
    revoke = cpb.RevokeCertificateRequest(serial_number=certificate.serial_number, reason="证书信息与培训记录不符")

    suspended = (await people.stub.SuspendInstitution(suspend, metadata=as_command(first))).institution
    withdrawn = (await campus.stub.WithdrawCourse(withdraw, metadata=as_command(first))).course
    revoked = (await graduation.stub.RevokeCertificate(revoke, metadata=as_command(first))).certificate
    again = (
        (await people.stub.SuspendInstitution(suspend, metadata=as_command(first))).institution,
        (await campus.stub.WithdrawCourse(withdraw, metadata=as_command(first))).course,
        (await graduation.stub.RevokeCertificate(revoke, metadata=as_command(first))).certificate,
    )

    assert again == (suspended, withdrawn, revoked)  # the same state, the same times: nothing recorded again
    assert suspended.status == ipb.INSTITUTION_STATUS_SUSPENDED
    assert withdrawn.status == coursepb.COURSE_STATUS_WITHDRAWN
    assert revoked.status == cpb.CERTIFICATE_STATUS_REVOKED
    refusals = [
        await rpc_failure(call, grpc.StatusCode.FAILED_PRECONDITION)
        for call in (
            people.stub.SuspendInstitution(suspend, metadata=as_command(other)),
            campus.stub.WithdrawCourse(withdraw, metadata=as_command(other)),
            graduation.stub.RevokeCertificate(revoke, metadata=as_command(other)),
        )
    ]
    assert [r.reason for r in refusals][2] == "CERTIFICATE_REVOKED"
    # One suspension event: the reinstatement that follows it is published after anything the
    # repeat could have written, so once it is there a second suspension would be too.
    await people.stub.ReinstateInstitution(
        ipb.ReinstateInstitutionRequest(institution_id=school.institution_id, reason="整改完成"),
        metadata=people.operator.metadata,
    )
    # Asked again after an operator reinstated the institution, the command does not suspend it anew.
    late = (await people.stub.SuspendInstitution(suspend, metadata=as_command(first))).institution
    assert late.status == ipb.INSTITUTION_STATUS_ACTIVE

    async def through_reinstatement() -> list | None:
        found = await published(
            nats_server.url, "TRAINING_IDENTITY", "training.identity.institution.>", school.institution_id
        )
        return found if any(m.subject.endswith(".reinstated.v1") for m in found) else None

    events = await wait_until(through_reinstatement, what="the reinstatement event")
    assert [m.subject.split(".")[3] for m in events] == ["registered", "suspended", "reinstated"]


async def test_only_supervision_may_relay_a_command(people, platform_secrets) -> None:
    institution = await people.institution("440106")
    request = ipb.SuspendInstitutionRequest(institution_id=institution.institution_id, reason="冒充监管指令")
    exams = await people.service("exams")
    supervision = await people.service("supervision")

    forged = await rpc_failure(
        people.stub.SuspendInstitution(request, metadata=exams.metadata + command_metadata("cmd-x", "440000")),
        grpc.StatusCode.PERMISSION_DENIED,
    )
    bare = await rpc_failure(
        people.stub.SuspendInstitution(request, metadata=supervision.metadata), grpc.StatusCode.PERMISSION_DENIED
    )

    assert "only the supervision service" in forged.message
    assert "regulator" in bare.message
