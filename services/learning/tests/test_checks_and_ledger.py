"""Face checks during study, proxy-learning anomalies, the daily cap, completion exactly once, and a
ledger that only ever grows: corrections and invalidations are new entries with who, when, why."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg
import grpc
import pytest

from training.common.v1 import common_pb2 as R
from training.courses.v1 import courses_pb2 as cpb
from training.learning.v1 import learning_events_pb2 as events
from training.learning.v1 import learning_pb2 as pb
from training_rulebook.testing import CAPPED_FROM, DAILY_CAP_HOURS, FULL_HOURS_FROM
from training_runtime.auth.commands import command_metadata
from training_testkit import wait_until
from training_testkit.rpc import rpc_failure
from training_testkit.streams import published

from .conftest import FACES, SAME_PERSON, SOMEONE_ELSE, study

CREDIT = pb.LEDGER_ENTRY_KIND_CREDIT
REJECT = pb.LEDGER_ENTRY_KIND_REJECT


def credited(entries: list[pb.LedgerEntry]) -> float:
    return sum(e.credited_seconds for e in entries)


def rejected(entries: list[pb.LedgerEntry], reason: str) -> float:
    return sum(e.interval_seconds for e in entries if e.kind == REJECT and e.reason == reason)


async def events_of(nats_server, subject: str, key: str, n: int = 1) -> list:  # type: ignore[no-untyped-def]
    async def enough() -> list | None:
        found = await published(nats_server.url, "TRAINING_LEARNING", subject, key)
        return found if len(found) >= n else None

    return await wait_until(enough, what=f"{n} x {subject}")


async def test_a_failed_face_check_pauses_study_and_loses_the_time_since_the_last_pass(learner) -> None:
    me = await learner()
    player = await me.start()
    await study(player, until=20)
    failed = await player.check(FACES[SOMEONE_ELSE])
    assert (failed.passed, failed.outcome) == (False, "FACE_CHECK_OUTCOME_NO_MATCH")
    assert (failed.session.state, failed.session.state_reason) == (pb.SESSION_STATE_PAUSED, "FACE_CHECK_FAILED")
    ack = await player.beat()
    assert ack.reason == "STUDY_PAUSED"
    resumed = await player.check(FACES[SAME_PERSON])
    assert resumed.passed
    # Back to the last credited position (nothing): the 20 s before the failed check are lost.
    assert resumed.session.resume_position_seconds == 0
    player.position = 0
    player.acks.clear()
    await study(player, until=30)
    await player.end(FACES[SAME_PERSON])
    entries = await me.entries()
    assert rejected(entries, "FACE_CHECK_FAILED") == 20
    assert credited(entries) == 30


async def test_a_missed_face_check_earns_nothing_since_the_last_pass(learner) -> None:
    me = await learner()
    player = await me.start()
    await player.beat(advance=0)
    deadline = player.session.face_check.deadline.ToDatetime().timestamp()
    ack = None
    while player.clock.now().timestamp() <= deadline:
        ack = await player.beat()  # the player ignores the camera prompt
    assert ack is not None
    assert (ack.reason, ack.state, ack.state_reason) == (
        "FACE_CHECK_MISSED",
        pb.SESSION_STATE_PAUSED,
        "FACE_CHECK_MISSED",
    )
    entries = await me.entries()
    assert credited(entries) == 0
    assert rejected(entries, "FACE_CHECK_MISSED") == pytest.approx(player.position)


async def test_repeated_mismatch_raises_a_proxy_learning_anomaly_and_freezes_the_hours(
    learner, people, nats_server
) -> None:
    me = await learner()
    player = await me.start()
    await study(player, until=30)
    await player.end(FACES[SAME_PERSON])
    player = await me.start()
    await study(player, until=40)
    outcomes = [await player.check(FACES[SOMEONE_ELSE]) for _ in range(3)]
    anomaly_id = outcomes[-1].anomaly_id
    assert anomaly_id
    assert not any(o.anomaly_id for o in outcomes[:-1])
    assert outcomes[-1].session.state == pb.SESSION_STATE_ENDED
    assert (await me.progress()).state == pb.ENROLLMENT_STATE_FROZEN
    frozen = await rpc_failure(me.start(), grpc.StatusCode.FAILED_PRECONDITION)
    assert frozen.reason == "HOURS_FROZEN"

    raised = events.AnomalyRaised.FromString(
        (await events_of(nats_server, "training.learning.anomaly.raised.v1", me.enrollment_id))[0].data
    )
    assert (raised.anomaly_id, raised.kind, len(raised.face_check_ids)) == (anomaly_id, "PROXY_LEARNING", 3)
    school = me.opened.school
    listed = await me.classroom.stub.ListAnomalies(
        pb.ListAnomaliesRequest(status=pb.ANOMALY_STATUS_OPEN), metadata=school.staff.metadata
    )
    assert anomaly_id in {a.anomaly_id for a in listed.anomalies}
    regulator = await people.account(R.ROLE_REGULATOR, region_code="440100")
    listed = await me.classroom.stub.ListAnomalies(pb.ListAnomaliesRequest(), metadata=regulator.metadata)
    assert anomaly_id in {a.anomaly_id for a in listed.anomalies}

    confirmed = await me.classroom.stub.ReviewAnomaly(
        pb.ReviewAnomalyRequest(anomaly_id=anomaly_id, decision=pb.ANOMALY_DECISION_CONFIRM, comment="代学属实"),
        metadata=school.admin.metadata,
    )
    assert confirmed.anomaly.status == pb.ANOMALY_STATUS_CONFIRMED
    assert confirmed.anomaly.reviewed_by == school.admin.user_id
    again = await rpc_failure(
        me.classroom.stub.ReviewAnomaly(
            pb.ReviewAnomalyRequest(anomaly_id=anomaly_id, decision=pb.ANOMALY_DECISION_CLEAR, comment="改判"),
            metadata=school.admin.metadata,
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert again.reason == "ANOMALY_ALREADY_REVIEWED"
    progress = await me.progress()
    assert progress.state == pb.ENROLLMENT_STATE_STUDYING
    assert progress.credited_hours == 0
    invalidated = events.HoursInvalidated.FromString(
        (await events_of(nats_server, "training.learning.hours.invalidated.v1", me.enrollment_id))[0].data
    )
    assert invalidated.invalidated_seconds == 30
    assert invalidated.reason == "代学属实"
    assert invalidated.actor_id == school.admin.user_id


async def test_a_cleared_anomaly_unfreezes_and_keeps_the_hours(learner) -> None:
    me = await learner()
    player = await me.start()
    await study(player, until=30)
    outcomes = [await player.check(FACES[SOMEONE_ELSE]) for _ in range(3)]
    assert outcomes[-1].anomaly_id
    cleared = await me.classroom.stub.ReviewAnomaly(
        pb.ReviewAnomalyRequest(
            anomaly_id=outcomes[-1].anomaly_id, decision=pb.ANOMALY_DECISION_CLEAR, comment="光线问题，本人学习"
        ),
        metadata=me.opened.school.staff.metadata,
    )
    assert cleared.anomaly.status == pb.ANOMALY_STATUS_CLEARED
    player = await me.start()
    await study(player, until=60)
    await player.end(FACES[SAME_PERSON])
    progress = await me.progress()
    assert progress.state == pb.ENROLLMENT_STATE_STUDYING
    assert sum(t.credited_seconds for t in progress.topics) == 60


async def test_completion_fires_exactly_once(learner, nats_server) -> None:
    me = await learner(lessons=(60,))
    for index in (0, 1):
        player = await me.start(index)
        await study(player, until=60)
        await player.end(FACES[SAME_PERSON])
    progress = await me.progress()
    assert progress.state == pb.ENROLLMENT_STATE_COMPLETED
    assert all(t.met for t in progress.topics)
    # Studying on and a correction afterwards change the hours, never the completion.
    player = await me.start(0)
    await study(player, until=30)
    await player.end(FACES[SAME_PERSON])
    await me.classroom.stub.CorrectHours(
        pb.CorrectHoursRequest(
            enrollment_id=me.enrollment_id, lesson_id=me.opened.lessons()[1].lesson_id, seconds=-10, reason="复核扣减"
        ),
        metadata=me.opened.school.admin.metadata,
    )
    messages = await events_of(nats_server, "training.learning.class.completed.v1", me.enrollment_id)
    await wait_until(
        lambda: published(
            nats_server.url, "TRAINING_LEARNING", "training.learning.hours.invalidated.v1", me.enrollment_id
        ),
        what="the correction's event (published after completion)",
    )
    messages = await published(
        nats_server.url, "TRAINING_LEARNING", "training.learning.class.completed.v1", me.enrollment_id
    )
    assert len(messages) == 1
    completed = events.ClassCompleted.FromString(messages[0].data)
    assert (completed.trainee_id, completed.class_id) == (me.person.user_id, me.opened.class_id)
    assert completed.institution_id == me.opened.school.institution_id
    assert completed.qualification_type == R.QUALIFICATION_TYPE_SAFETY_MANAGER_HIGH_RISK
    assert completed.training_kind == R.TRAINING_KIND_INITIAL
    assert completed.rulebook_version == "test-2026"
    assert completed.total_credited_hours == 2.0
    assert sorted(t.credited_hours for t in completed.topics) == [1.0, 1.0]


async def test_the_daily_cap_stops_crediting_for_the_day(learner, training_clock) -> None:
    back_to = training_clock.now()
    training_clock.set(CAPPED_FROM + timedelta(hours=1))
    try:
        me = await learner(topics=(("law", 1),), lessons=(240,))
        assert me.opened.training_class.rulebook_version == "test-capped-2031"
        player = await me.start()
        await study(player, until=240)
        await player.end(FACES[SAME_PERSON])
        entries = await me.entries()
        cap = DAILY_CAP_HOURS * 60
        assert credited(entries) == cap
        assert rejected(entries, "DAILY_CAP_REACHED") == 240 - cap
        # The next (China) day has room again: the same lesson credits up to its length.
        training_clock.advance(timedelta(days=1))
        player = await me.start()
        assert player.session.lesson_credited_seconds == cap
        player.position = 0
        await study(player, until=120)
        await player.end(FACES[SAME_PERSON])
        entries = await me.entries()
        # Never more than the lesson lasts: the rest of the rewatch is refused for that reason.
        assert credited(entries) == 240
        assert rejected(entries, "LESSON_FULLY_CREDITED") == 120 - (240 - cap)
    finally:
        training_clock.set(back_to)


async def test_a_correction_is_a_new_entry_with_who_when_why_before_and_after(learner) -> None:
    me = await learner()
    player = await me.start()
    await study(player, until=50)
    await player.end(FACES[SAME_PERSON])
    admin = me.opened.school.admin
    lesson_id = me.opened.lessons()[0].lesson_id
    corrected = await me.classroom.stub.CorrectHours(
        pb.CorrectHoursRequest(
            enrollment_id=me.enrollment_id, lesson_id=lesson_id, seconds=20, reason="服务器故障期间的学习记录补录"
        ),
        metadata=admin.metadata,
    )
    entry = corrected.entry
    assert entry.kind == pb.LEDGER_ENTRY_KIND_CORRECTION
    assert (entry.actor_id, entry.actor_role) == (admin.user_id, R.ROLE_INSTITUTION_ADMIN)
    assert (entry.before_seconds, entry.after_seconds, entry.credited_seconds) == (50, 70, 20)
    assert entry.comment == "服务器故障期间的学习记录补录"
    assert entry.recorded_at.seconds
    too_much = await rpc_failure(
        me.classroom.stub.CorrectHours(
            pb.CorrectHoursRequest(enrollment_id=me.enrollment_id, lesson_id=lesson_id, seconds=100, reason="多补"),
            metadata=admin.metadata,
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert too_much.reason == "CORRECTION_OUT_OF_RANGE"
    kinds = [e.kind for e in await me.entries()]
    assert kinds.count(pb.LEDGER_ENTRY_KIND_CORRECTION) == 1


async def test_the_ledger_refuses_edits_and_a_regulator_invalidates_by_new_entries(
    learner, people, ledger_db, nats_server
) -> None:
    me = await learner()
    player = await me.start()
    await study(player, until=40)
    await player.end(FACES[SAME_PERSON])
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await ledger_db.execute(
            "UPDATE ledger_entries SET credited_seconds = 999 WHERE enrollment_id = $1", uuid.UUID(me.enrollment_id)
        )
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await ledger_db.execute("DELETE FROM ledger_entries WHERE enrollment_id = $1", uuid.UUID(me.enrollment_id))
    regulator = await people.account(R.ROLE_REGULATOR, region_code="440000")
    first = next(e for e in await me.entries() if e.kind == CREDIT)
    response = await me.classroom.stub.InvalidateHours(
        pb.InvalidateHoursRequest(enrollment_id=me.enrollment_id, entry_ids=[first.entry_id], reason="人证不符"),
        metadata=regulator.metadata,
    )
    (entry,) = response.entries
    assert (entry.kind, entry.corrects_entry_id, entry.credited_seconds) == (
        pb.LEDGER_ENTRY_KIND_INVALIDATION,
        first.entry_id,
        -first.credited_seconds,
    )
    assert entry.actor_id == regulator.user_id
    twice = await rpc_failure(
        me.classroom.stub.InvalidateHours(
            pb.InvalidateHoursRequest(enrollment_id=me.enrollment_id, entry_ids=[first.entry_id], reason="再次"),
            metadata=regulator.metadata,
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert twice.reason == "ENTRY_NOT_INVALIDATABLE"
    entries = await me.entries()
    assert credited(entries) == 40 - first.credited_seconds
    assert first.entry_id in {e.entry_id for e in entries}  # the original stays, taken back by a new entry
    message = (await events_of(nats_server, "training.learning.hours.invalidated.v1", me.enrollment_id))[0]
    invalidated = events.HoursInvalidated.FromString(message.data)
    assert list(invalidated.invalidated_entry_ids) == [first.entry_id]
    assert invalidated.actor_role == R.ROLE_REGULATOR


async def test_a_repeated_regulator_command_returns_its_invalidation_and_takes_back_nothing_more(
    learner, people
) -> None:
    """Supervision died after learning applied an invalidate_hours command and before recording
    that: the command asked again is answered with the entries it recorded, and the hours credited
    since are kept; another command takes them back."""
    me = await learner()
    player = await me.start()
    await study(player, until=40)
    await player.end(FACES[SAME_PERSON])
    supervision = await people.service("supervision")
    command = tuple(supervision.metadata) + command_metadata(f"cmd-{uuid.uuid4().hex[:12]}", "440000")
    request = pb.InvalidateHoursRequest(enrollment_id=me.enrollment_id, reason="查实代学")

    first = await me.classroom.stub.InvalidateHours(request, metadata=command)
    assert first.entries
    assert credited(await me.entries()) == 0
    player = await me.start()  # resumes at 40 s, the furthest position credited
    await study(player, until=80)
    await player.end(FACES[SAME_PERSON])
    since = credited(await me.entries())
    assert since > 0
    again = await me.classroom.stub.InvalidateHours(request, metadata=command)

    assert [e.entry_id for e in again.entries] == [e.entry_id for e in first.entries]
    assert credited(await me.entries()) == since
    another = tuple(supervision.metadata) + command_metadata(f"cmd-{uuid.uuid4().hex[:12]}", "440000")
    taken = await me.classroom.stub.InvalidateHours(request, metadata=another)
    assert taken.entries
    assert credited(await me.entries()) == 0


async def test_a_withdrawn_course_cannot_be_studied_and_its_live_session_ends(learner, campus, people) -> None:
    me = await learner()
    player = await me.start()
    await study(player, until=20)
    course = me.opened.courses[0]
    await campus.stub.WithdrawCourse(
        cpb.WithdrawCourseRequest(course_id=course.course_id, reason="内容违规"), metadata=people.operator.metadata
    )

    async def ended() -> bool:
        ack = await player.beat(advance=0, moved=0)
        return ack.state == pb.SESSION_STATE_ENDED and ack.state_reason == "COURSE_WITHDRAWN"

    await wait_until(ended, what="learning to end the withdrawn course's session")
    refused = await rpc_failure(me.start(), grpc.StatusCode.FAILED_PRECONDITION)
    assert refused.reason == "COURSE_WITHDRAWN"
    assert rejected(await me.entries(), "COURSE_WITHDRAWN") == 20


async def test_an_abandoned_session_ends_and_its_unbracketed_time_is_rejected(learner, training_clock) -> None:
    me = await learner()
    player = await me.start()
    await study(player, until=30)
    training_clock.advance(timedelta(minutes=11))  # the test rulebook abandons after 10 silent minutes

    async def abandoned() -> bool:
        return rejected(await me.entries(), "SESSION_ABANDONED") == 30

    await wait_until(abandoned, what="the sweeper to end the session")
    ack = await player.beat()
    assert ack.state_reason == "SESSION_ABANDONED"


async def test_a_trainee_rates_a_finished_course_once_and_figures_follow(learner, campus, people) -> None:
    me = await learner(topics=(("law", 1),), lessons=(60,))
    course = me.opened.courses[0]
    rate = cpb.RateCourseRequest(
        enrollment_id=me.enrollment_id,
        course_id=course.course_id,
        course_rating=4,
        teacher_rating=5,
        comment="讲得清楚",
    )
    early = await rpc_failure(
        campus.stub.RateCourse(rate, metadata=me.person.metadata), grpc.StatusCode.FAILED_PRECONDITION
    )
    assert early.reason == "COURSE_NOT_FINISHED"
    player = await me.start()
    await study(player, until=60)
    await player.end(FACES[SAME_PERSON])

    async def rated() -> bool:
        try:
            await campus.stub.RateCourse(rate, metadata=me.person.metadata)
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.FAILED_PRECONDITION:
                raise
            return False
        return True

    await wait_until(rated, what="courses to learn the course was finished")
    twice = await rpc_failure(campus.stub.RateCourse(rate, metadata=me.person.metadata), grpc.StatusCode.ALREADY_EXISTS)
    assert "already rated" in twice.message
    figures = (
        await campus.stub.GetQualityFigures(
            cpb.GetQualityFiguresRequest(scope=cpb.QUALITY_SCOPE_COURSE, subject_id=course.course_id),
            metadata=me.opened.school.admin.metadata,
        )
    ).figures
    assert (figures.ratings, figures.mean_course_rating, figures.mean_teacher_rating) == (1, 4.0, 5.0)
    assert (figures.trainees, figures.completion_rate) == (1, 1.0)
    assert figures.hours_per_trainee == 1.0
    assert figures.anomaly_rate == 0.0


async def test_forty_five_minutes_of_honest_study_earn_one_class_hour(learner, training_clock, nats_server) -> None:
    back_to = training_clock.now()
    training_clock.set(FULL_HOURS_FROM + timedelta(hours=1))
    try:
        # One topic of one hour, one 45-minute lesson, under the default rulebook's rules.
        me = await learner(topics=(("law", 1),), lessons=(45 * 60,))
        assert me.opened.training_class.rulebook_version == "test-45min-2036"
        player = await me.start()
        await study(player, until=45 * 60)
        ended = await player.end(FACES[SAME_PERSON])
        assert ended.face_check_passed
    finally:
        training_clock.set(back_to)
    progress = await me.progress()
    assert (progress.credited_hours, progress.class_hour_seconds) == (1.0, 2700)
    assert progress.state == pb.ENROLLMENT_STATE_COMPLETED
    checks = {e.closing_face_check_id for e in await me.entries() if e.kind == CREDIT}
    # At most 15 minutes between checks: at least three brackets in 45 minutes.
    assert len(checks) >= 3
    completed = events.ClassCompleted.FromString(
        (await events_of(nats_server, "training.learning.class.completed.v1", me.enrollment_id))[0].data
    )
    assert (completed.total_credited_hours, completed.rulebook_version) == (1.0, "test-45min-2036")
