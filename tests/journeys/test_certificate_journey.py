"""A certificate's whole life through the real services: a trainee studies under real face checks
(identity, courses, learning), learning publishes the class completion, the final exam's grading is
published as exams publishes it, certificates issues and signs, supervision delivers to the
provincial platform simulator, anyone verifies it; then a regulator invalidates the hours in
learning, the certificate is revoked automatically and the revocation reaches the province."""

from __future__ import annotations

import uuid

import pytest

from training.certificates.v1 import certificates_pb2 as cpb
from training.common.v1 import common_pb2
from training.exams.v1 import exams_events_pb2 as xev
from training.learning.v1 import learning_pb2 as lpb
from training_certificates.testing import Graduate
from training_events import Event
from training_identity.testing import FacePhotos
from training_learning.testing import Player
from training_runtime.protoconv import timestamp
from training_testkit import wait_until

pytestmark = pytest.mark.slow
FACES = FacePhotos()


async def study(player: Player, *, until: float) -> None:
    """Watch honestly at 1x to `until`, answering every face check the server asks for."""
    await player.beat(advance=0)
    while player.position < until - 1e-9:
        ack = await player.beat(advance=min(10.0, until - player.position))
        if ack.face_check.due:
            await player.check(FACES["obama2.jpg"])


def final_exam_passed(enrollment: str, completed_class: str, trainee: str, institution: str, clock) -> Event:  # type: ignore[no-untyped-def]
    """What exams publishes when a class-final attempt is graded as passed."""
    attempt = str(uuid.uuid4())
    now = clock.now()
    return Event(
        subject="training.exams.attempt.graded.v1",
        key=attempt,
        message=xev.AttemptGraded(
            attempt_id=attempt,
            exam_id=str(uuid.uuid4()),
            kind=xev.EXAM_KIND_FINAL,
            enrollment_id=enrollment,
            class_id=completed_class,
            trainee_id=trainee,
            institution_id=institution,
            region_code="440106",
            qualification_type=common_pb2.QUALIFICATION_TYPE_SAFETY_MANAGER_HIGH_RISK,
            training_kind=common_pb2.TRAINING_KIND_INITIAL,
            score=88,
            max_points=100,
            pass_mark=80,
            passed=True,
            cause=xev.SUBMISSION_CAUSE_TRAINEE,
            rulebook_version="test-2026",
            started_at=timestamp(now),
            submitted_at=timestamp(now),
            graded_at=timestamp(now),
        ),
    )


async def test_a_certificate_from_real_study_to_the_province_and_back(
    people, campus, classroom, graduation, training_clock, supervision_app, province, learning_stub
) -> None:
    opened = await campus.open_class(topics=(("law", 1), ("safety", 1)), lessons=(60,))
    trainee = await people.enrolled_trainee(FACES["obama.jpg"])
    enrollment_id = await classroom.enrolled(opened, trainee)
    for lesson in opened.lessons():
        player = await classroom.start(trainee, enrollment_id, lesson.lesson_id, FACES["obama2.jpg"])
        await study(player, until=60)
        await player.end(FACES["obama2.jpg"])
    progress = await classroom.progress(trainee, enrollment_id)
    assert progress.state == lpb.ENROLLMENT_STATE_COMPLETED

    await graduation.publish(
        final_exam_passed(enrollment_id, opened.class_id, trainee.user_id, opened.school.institution_id, training_clock)
    )
    graduate = Graduate(trainee=trainee, institution_id=opened.school.institution_id, region_code="440106")
    graduate.enrollment_id = enrollment_id
    certificate = await graduation.certificate(graduate, timeout=30)

    assert certificate.total_hours == 2.0
    assert {t.topic_code for t in certificate.topics} == {"law", "safety"}
    assert certificate.exam_score == 88
    verified = await graduation.stub.VerifyCertificateToken(
        cpb.VerifyCertificateTokenRequest(token=certificate.qr_token)
    )
    assert verified.verification.result == cpb.VERIFICATION_RESULT_VALID

    def at_the_province(operation: str) -> list[dict]:
        return [
            s.record
            for s in province.store.in_arrival_order()
            if s.record["record_type"] == "certificate"
            and s.record["operation"] == operation
            and s.record["data"]["serial_number"] == certificate.serial_number
        ]

    await wait_until(lambda: at_the_province("issued"), timeout=30, what="the certificate at the province")

    regulator = await people.account(common_pb2.ROLE_REGULATOR, region_code="440000")
    await learning_stub.InvalidateHours(
        lpb.InvalidateHoursRequest(enrollment_id=enrollment_id, reason="查实代学，学时作废"),
        metadata=regulator.metadata,
    )

    async def revoked():  # type: ignore[no-untyped-def]
        answer = await graduation.stub.VerifyCertificate(
            cpb.VerifyCertificateRequest(
                serial_number=certificate.serial_number, verification_code=certificate.verification_code
            )
        )
        return answer.verification if answer.verification.result == cpb.VERIFICATION_RESULT_REVOKED else None

    verification = await wait_until(revoked, timeout=30, what="the automatic revocation")
    assert "查实代学" in verification.revocation_reason
    (record,) = await wait_until(lambda: at_the_province("revoked"), timeout=30, what="the revocation at the province")
    assert record["data"]["actor_id"] == regulator.user_id
