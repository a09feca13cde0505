"""A small class of trainees going through the whole flow against the platform's processes, in
real time: study with heartbeats and face checks, the final exam, the certificate.

Every call goes through channels that follow the documented client policy (deadline, wait for
ready, gRPC retries of UNAVAILABLE). The trainee behaves as the web player does: heartbeats carry
the video's real position, a due face check is answered, and study that the server stopped
crediting (an interval rejected while a service was away) is resumed from where the server says.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import grpc

from training.certificates.v1 import certificates_pb2 as cpb
from training.certificates.v1 import certificates_pb2_grpc
from training.common.v1 import common_pb2
from training.courses.v1 import courses_pb2_grpc
from training.exams.v1 import exams_events_pb2 as xev
from training.exams.v1 import exams_pb2 as xpb
from training.exams.v1 import exams_pb2_grpc
from training.identity.v1 import identity_pb2 as ipb
from training.identity.v1 import identity_pb2_grpc
from training.learning.v1 import learning_pb2 as lpb
from training.learning.v1 import learning_pb2_grpc
from training.supervision.v1 import supervision_pb2_grpc
from training_courses.testing import Campus, OpenClass
from training_exams.sample import sample_bank
from training_exams.testing import ExamClass, ExamOffice, Keys
from training_identity.testing import FacePhotos, People, Person
from training_learning.testing import Classroom
from training_runtime.clock import SystemClock
from training_runtime.protoconv import timestamp
from training_testkit import wait_until

from .platform import OPERATOR_PASSWORD, Platform

FACES = FacePhotos()
BASELINE, SAME_PERSON = FACES["obama.jpg"], FACES["obama2.jpg"]
# One class hour of the faults rulebook.
LESSON_SECONDS = 6
KEYS = Keys(sample_bank())


@dataclass
class Trainee:
    person: Person
    enrollment_id: str
    attempt_id: str = ""
    certificate: cpb.Certificate | None = None
    # Where the trainee is (for the message of a test that times out).
    doing: str = "enrolled"
    sitting: str = ""


class Staff:
    """Stubs on every service and the people behind the scenario (operator, schools)."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.identity = identity_pb2_grpc.IdentityServiceStub(platform.channel("identity"))
        self.learning = learning_pb2_grpc.LearningServiceStub(platform.channel("learning"))
        self.exams = exams_pb2_grpc.ExamsServiceStub(platform.channel("exams"))
        self.certificates = certificates_pb2_grpc.CertificatesServiceStub(platform.channel("certificates"))
        self.supervision = supervision_pb2_grpc.SupervisionServiceStub(platform.channel("supervision"))
        self.courses = courses_pb2_grpc.CoursesServiceStub(platform.channel("courses"))
        self.people: People | None = None

    async def sign_in(self) -> Staff:
        signed_in = await self.identity.Login(
            ipb.LoginRequest(login=self.platform.operator_login, password=OPERATOR_PASSWORD)
        )
        operator = Person(
            user_id=signed_in.user.user_id,
            role=common_pb2.ROLE_OPERATOR,
            token=signed_in.tokens.access_token,
            login=self.platform.operator_login,
        )
        self.people = People(self.identity, operator, self.platform.secrets)
        self.campus = Campus(self.courses, self.people)
        self.office = ExamOffice(self.exams, self.campus, self.people)
        # Only for `enrolled` (enroll, and wait until learning knows): study here runs on real time.
        self.classroom = Classroom(self.learning, self.campus, self.people, SystemClock())  # type: ignore[arg-type]
        return self

    @property
    def operator(self) -> Person:
        assert self.people is not None
        return self.people.operator


@dataclass
class Cohort:
    """One class, its final exam, and its trainees; `reached` marks how far the first trainee got."""

    staff: Staff
    opened: OpenClass
    exam: xpb.Exam
    trainees: list[Trainee]
    reached: dict[str, asyncio.Event] = field(
        default_factory=lambda: {p: asyncio.Event() for p in ("studying", "studied", "graded", "certified")}
    )
    # Every trainee-side call that failed (status name), for the zero-failed-calls check.
    failed_calls: list[str] = field(default_factory=list)

    @classmethod
    async def enroll(cls, staff: Staff, size: int) -> Cohort:
        opened = await staff.campus.open_class(topics=(("law", 1),), lessons=(LESSON_SECONDS,))
        exam = await staff.office.define(
            ExamClass(opened.class_id, opened.school.admin, opened), xev.EXAM_KIND_FINAL, max_attempts=2
        )
        assert staff.people is not None
        trainees = []
        for _ in range(size):
            person = await staff.people.enrolled_trainee(BASELINE)
            trainees.append(Trainee(person, await staff.classroom.enrolled(opened, person)))
        return cls(staff, opened, exam, trainees)

    async def run(self, *, retry_steps: bool = True, timeout: float = 150) -> None:
        """Every trainee's whole journey, concurrently. With `retry_steps` a step that failed (a
        service killed under it) is taken again, as a trainee reloading the page would."""
        try:
            await asyncio.wait_for(asyncio.gather(*(self._journey(t, retry_steps) for t in self.trainees)), timeout)
        except TimeoutError:
            raise AssertionError(
                f"the class did not finish within {timeout:.0f}s: {[t.doing for t in self.trainees]}; "
                f"failed calls {self.failed_calls}"
            ) from None

    async def _journey(self, trainee: Trainee, retry_steps: bool) -> None:
        for step in (self._study, self._sit_final_exam, self._collect_certificate):
            trainee.doing = step.__name__
            while True:
                try:
                    await step(trainee)
                    break
                except grpc.aio.AioRpcError as error:
                    self.failed_calls.append(f"{step.__name__}: {error.code().name} {error.details()}")
                    if not retry_steps:
                        raise

    # --- study -----------------------------------------------------------------------------------
    async def _study(self, trainee: Trainee) -> None:
        learning = self.staff.learning
        for lesson in self.opened.lessons():
            while (credited := await self._lesson_credited(trainee, lesson.lesson_id)) < lesson.duration_seconds - 1:
                trainee.doing = f"studying ({credited:.1f}s credited); last sitting {trainee.sitting}"
                await self._session(trainee, lesson.lesson_id, lesson.duration_seconds, credited)
        progress = (
            await learning.GetProgress(
                lpb.GetProgressRequest(enrollment_id=trainee.enrollment_id), metadata=trainee.person.metadata
            )
        ).progress
        assert progress.state == lpb.ENROLLMENT_STATE_COMPLETED, progress
        self.reached["studied"].set()

    async def _lesson_credited(self, trainee: Trainee, lesson_id: str) -> float:
        progress = (
            await self.staff.learning.GetProgress(
                lpb.GetProgressRequest(enrollment_id=trainee.enrollment_id), metadata=trainee.person.metadata
            )
        ).progress
        return next((lp.credited_seconds for lp in progress.lessons if lp.lesson_id == lesson_id), 0.0)

    async def _session(self, trainee: Trainee, lesson_id: str, duration: float, credited: float) -> None:
        """One sitting: start with a face check, play in real time from where the server resumes,
        answer due checks, and end with a closing check once the lesson is over or the server stops
        crediting (the next sitting resumes from the furthest credited position). When what is left
        to play from there cannot make up the time still missing (intervals the server could not
        verify, say while learning restarted), the trainee seeks back and watches again."""
        learning, who = self.staff.learning, trainee.person.metadata
        started = await learning.StartStudy(
            lpb.StartStudyRequest(
                enrollment_id=trainee.enrollment_id,
                lesson_id=lesson_id,
                device_id=f"device-{trainee.person.user_id[:8]}",
                face_image=SAME_PERSON,
                client_time=timestamp(SystemClock().now()),
            ),
            metadata=who,
        )
        session = started.session
        missing = duration - credited
        origin = session.resume_position_seconds
        if duration - origin < missing + 1:
            origin = max(0.0, duration - missing - 2)
        begun = time.monotonic()
        interval = session.heartbeat_interval_seconds or 1.0
        sequence = 0
        trainee.sitting = f"from {origin:.1f}:"
        while True:
            position = min(duration, origin + time.monotonic() - begun)
            sequence += 1
            ack = (
                await learning.SendHeartbeat(
                    lpb.SendHeartbeatRequest(
                        heartbeat=lpb.Heartbeat(
                            session_id=session.session_id,
                            sequence=sequence,
                            position_seconds=position,
                            playback_rate=1.0,
                            focused=True,
                            client_time=timestamp(SystemClock().now()),
                        )
                    ),
                    metadata=who,
                )
            ).ack
            trainee.sitting += f" {position:.1f}/{ack.reason}"
            if ack.verdict == lpb.INTERVAL_VERDICT_PENDING:
                self.reached["studying"].set()
            if ack.face_check.due:
                checked = await learning.SubmitFaceCheck(
                    lpb.SubmitFaceCheckRequest(session_id=session.session_id, face_image=SAME_PERSON), metadata=who
                )
                assert checked.passed, checked.outcome
                if ack.state == lpb.SESSION_STATE_PAUSED:
                    break  # resumed by the check; a new sitting re-bases cleanly
            elif ack.verdict == lpb.INTERVAL_VERDICT_REJECTED and ack.sequence == sequence:
                break
            if position >= duration:
                break
            await asyncio.sleep(interval)  # the video plays on between heartbeats
        await learning.EndStudy(
            lpb.EndStudyRequest(session_id=session.session_id, face_image=SAME_PERSON), metadata=who
        )

    # --- the final exam ---------------------------------------------------------------------------
    async def _sit_final_exam(self, trainee: Trainee) -> None:
        exams, who = self.staff.exams, trainee.person.metadata
        mine = (await exams.ListAttempts(xpb.ListAttemptsRequest(exam_id=self.exam.exam_id), metadata=who)).attempts
        if any(a.status == xpb.ATTEMPT_STATUS_GRADED for a in mine):
            return  # submitted before a failure hid the answer

        async def started() -> xpb.StartAttemptResponse | None:
            try:
                return await exams.StartAttempt(xpb.StartAttemptRequest(exam_id=self.exam.exam_id), metadata=who)
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.FAILED_PRECONDITION and "complete" in (exc.details() or ""):
                    return None  # exams has not yet processed the class completion
                raise

        attempt = await wait_until(started, timeout=60, what="exams to open the final exam")
        trainee.attempt_id = attempt.attempt.attempt_id
        for question in attempt.paper.questions:
            await exams.SaveAnswer(
                xpb.SaveAnswerRequest(
                    attempt_id=trainee.attempt_id,
                    position=question.position,
                    selected=KEYS.right(question),
                    revision=1,
                ),
                metadata=who,
            )
        submitted = await exams.SubmitAttempt(xpb.SubmitAttemptRequest(attempt_id=trainee.attempt_id), metadata=who)
        assert submitted.attempt.passed, submitted.attempt
        self.reached["graded"].set()

    # --- the certificate --------------------------------------------------------------------------
    async def _collect_certificate(self, trainee: Trainee) -> None:
        async def issued() -> cpb.Certificate | None:
            listed = await self.staff.certificates.ListCertificates(
                cpb.ListCertificatesRequest(trainee_id=trainee.person.user_id), metadata=trainee.person.metadata
            )
            return next((c for c in listed.certificates if c.enrollment_id == trainee.enrollment_id), None)

        trainee.certificate = await wait_until(issued, timeout=90, what="the certificate")
        trainee.doing = "certified"
        self.reached["certified"].set()
