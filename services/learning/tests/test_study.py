"""Study scenarios against real PostgreSQL, NATS and face matching, driving the shared clock: honest
study earns exactly the expected hours; every way of not studying earns nothing for the affected
time and the ledger says why."""

from __future__ import annotations

import grpc

from training.learning.v1 import learning_events_pb2 as events
from training.learning.v1 import learning_pb2 as pb
from training_testkit import wait_until
from training_testkit.rpc import rpc_failure
from training_testkit.streams import published

from .conftest import FACES, SAME_PERSON, SOMEONE_ELSE, beat, study

CREDIT = pb.LEDGER_ENTRY_KIND_CREDIT
REJECT = pb.LEDGER_ENTRY_KIND_REJECT


def credited(entries: list[pb.LedgerEntry]) -> float:
    return sum(e.credited_seconds for e in entries)


def rejected(entries: list[pb.LedgerEntry], reason: str) -> float:
    return sum(e.interval_seconds for e in entries if e.kind == REJECT and e.reason == reason)


async def test_honest_study_earns_exactly_the_expected_hours(learner, classroom, nats_server) -> None:
    me = await learner()
    player = await me.start()
    assert player.session.state == pb.SESSION_STATE_ACTIVE
    await study(player, until=120)
    ended = await player.end(FACES[SAME_PERSON])
    assert ended.face_check_passed
    assert ended.session.state == pb.SESSION_STATE_ENDED

    entries = await me.entries()
    assert credited(entries) == 120
    assert {e.kind for e in entries} == {CREDIT}
    for entry in entries:
        assert entry.reason == "VERIFIED"
        assert entry.rulebook_version == "test-2026"
        assert entry.session_id == player.session_id
        assert entry.device_id == "device-aaaaaaaa"
        assert entry.opening_face_check_id
        assert entry.closing_face_check_id
        assert entry.last_heartbeat_sequence > entry.first_heartbeat_sequence
    records = await classroom.stub.ListStudyRecords(
        pb.ListStudyRecordsRequest(enrollment_id=me.enrollment_id), metadata=me.opened.school.admin.metadata
    )
    (session,) = records.sessions
    assert session.session_id == player.session_id
    assert session.device_id == "device-aaaaaaaa"
    assert session.state == pb.SESSION_STATE_ENDED
    assert session.random_checks_passed >= 1
    assert records.face_checks[0].purpose == "start"
    # In time order; the test clock does not move between the last random check and the end check,
    # so the end check is among the last instant's checks rather than strictly last.
    times = [c.checked_at.ToDatetime() for c in records.face_checks]
    assert times == sorted(times)
    assert "end" in {c.purpose for c in records.face_checks if c.checked_at.ToDatetime() == times[-1]}
    assert all(c.passed and c.session_id == player.session_id for c in records.face_checks)
    evidence = {e.opening_face_check_id for e in entries} | {e.closing_face_check_id for e in entries}
    assert evidence <= {c.face_check_id for c in records.face_checks}
    progress = await me.progress()
    law = next(t for t in progress.topics if t.code == "law")
    assert (law.credited_seconds, law.credited_hours, law.met) == (120, 2.0, True)
    lesson = next(lesson for lesson in progress.lessons if lesson.credited_seconds)
    assert lesson.finished
    assert progress.state == pb.ENROLLMENT_STATE_STUDYING  # the safety topic is still to do
    messages = await wait_until(
        lambda: published(
            nats_server.url, "TRAINING_LEARNING", "training.learning.hours.credited.v1", me.enrollment_id
        ),
        what="hours.credited",
    )
    assert sum(events.HoursCredited.FromString(m.data).credited_seconds for m in messages) == 120


async def test_a_started_session_tells_the_player_the_rulebook_heartbeat_interval(learner) -> None:
    me = await learner()
    player = await me.start()
    # test-2026 keeps the demo rulebook's 10-second heartbeats; the player paces itself by this.
    assert player.session.heartbeat_interval_seconds == 10
    ended = await player.end(FACES[SAME_PERSON])
    assert ended.session.heartbeat_interval_seconds == 10


async def test_start_needs_a_passed_face_check(learner) -> None:
    me = await learner()
    failure = await rpc_failure(me.start(photo=SOMEONE_ELSE), grpc.StatusCode.FAILED_PRECONDITION)
    assert failure.reason == "FACE_CHECK_FAILED"
    assert failure.metadata["outcome"] == "no_match"
    assert await me.entries() == []


async def rewind(player, *, to: float) -> None:  # type: ignore[no-untyped-def]
    """Jump back to position `to` (the jump itself is an interval of no time, credited nothing)."""
    await beat(player, advance=0, moved=to - player.position)


async def finish(player, *, until: float = 120) -> None:  # type: ignore[no-untyped-def]
    await study(player, until=until)
    ended = await player.end(FACES[SAME_PERSON])
    assert ended.face_check_passed


async def test_playback_at_2x_earns_nothing_for_the_fast_interval(learner) -> None:
    me = await learner()
    player = await me.start()
    await study(player, until=30)
    ack = await beat(player, advance=10, moved=20, rate=2.0)
    assert (ack.verdict, ack.reason) == (pb.INTERVAL_VERDICT_REJECTED, "PLAYBACK_RATE")
    # What was skimmed is not verified: playing on from 50 s would be skipping 30-50 s...
    ack = await beat(player)
    assert ack.reason == "SEEK_PAST_FURTHEST"
    # ...so the player goes back to the furthest verified position and watches the rest.
    await rewind(player, to=30)
    await finish(player)
    entries = await me.entries()
    assert rejected(entries, "PLAYBACK_RATE") == 10
    assert rejected(entries, "SEEK_PAST_FURTHEST") == 10
    assert credited(entries) == 120


async def test_seek_past_furthest_position_is_not_credited(learner) -> None:
    me = await learner()
    player = await me.start()
    await study(player, until=20)
    ack = await beat(player, advance=5, moved=60)
    assert ack.reason == "SEEK_PAST_FURTHEST"
    # Playing on at 1x beyond the furthest verified position is still skipped content.
    ack = await beat(player, advance=10)
    assert ack.reason == "SEEK_PAST_FURTHEST"
    ended = await player.end(FACES[SAME_PERSON])
    assert ended.face_check_passed
    entries = await me.entries()
    assert credited(entries) == 20
    assert rejected(entries, "SEEK_PAST_FURTHEST") == 15
    lesson = next(lesson for lesson in (await me.progress()).lessons if lesson.credited_seconds)
    assert lesson.furthest_position_seconds == 20


async def test_lost_focus_is_not_credited(learner) -> None:
    me = await learner()
    player = await me.start()
    await study(player, until=30)
    for _ in range(3):
        ack = await beat(player, focused=False)
        assert ack.reason == "FOCUS_LOST"
    # Content played without focus is not verified: the player watches 30-60 s again.
    await rewind(player, to=30)
    await finish(player)
    entries = await me.entries()
    assert rejected(entries, "FOCUS_LOST") == 30
    assert credited(entries) == 120


async def test_an_idle_gap_is_not_credited_and_study_resumes_after_a_face_check(learner) -> None:
    me = await learner()
    player = await me.start()
    await study(player, until=30)
    ack = await player.beat(advance=75, moved=75)
    assert (ack.reason, ack.state, ack.state_reason) == ("IDLE_GAP", pb.SESSION_STATE_PAUSED, "IDLE_TIMEOUT")
    assert ack.face_check.due
    ack = await player.beat()
    assert ack.reason == "STUDY_PAUSED"
    resumed = await player.check(FACES[SAME_PERSON])
    assert resumed.passed
    assert resumed.session.state == pb.SESSION_STATE_ACTIVE
    # The 30 s before the gap were verified and are credited by the resuming check.
    assert resumed.session.lesson_credited_seconds == 30
    entries = await me.entries()
    assert rejected(entries, "IDLE_GAP") == 75
    assert rejected(entries, "STUDY_PAUSED") == 0  # a heartbeat while paused is not an interval
    assert credited(entries) == 30


async def test_replayed_or_out_of_order_heartbeats_change_nothing(learner) -> None:
    me = await learner()
    player = await me.start()
    await study(player, until=40)
    before = player.acks[-1]
    replay = await beat(player, advance=10, moved=0, sequence=player.sequence)
    assert replay.reason == "HEARTBEAT_REPLAYED"
    stale = await player.beat(advance=0, moved=0, sequence=player.sequence - 2)
    assert stale.reason == "HEARTBEAT_OUT_OF_ORDER"
    # Nothing gained, nothing lost (a due check may have credited the pending time meanwhile).
    assert (
        stale.pending_seconds + stale.lesson_credited_seconds == before.pending_seconds + before.lesson_credited_seconds
    )
    # The position did not move across the replay's 10 s, so the next real heartbeat covers 20 s of
    # wall clock and 10 s of content: a mismatch, credited nothing.
    ack = await beat(player)
    assert ack.reason == "POSITION_MISMATCH"
    await player.end(FACES[SAME_PERSON])
    assert credited(await me.entries()) == 40


async def test_heartbeats_from_the_future_are_not_credited(learner) -> None:
    me = await learner()
    player = await me.start()
    await study(player, until=30)
    ack = await beat(player, client_skew=600)
    assert ack.reason == "CLIENT_CLOCK_AHEAD"
    await player.end(FACES[SAME_PERSON])
    entries = await me.entries()
    assert rejected(entries, "CLIENT_CLOCK_AHEAD") == 10
    assert credited(entries) == 30


async def test_a_second_device_ends_the_first_and_only_it_accrues(learner) -> None:
    me = await learner()
    laptop = await me.start(device="laptop-0001")
    await study(laptop, until=30)
    phone = await me.start(device="phone-00001")
    ack = await laptop.beat()
    assert (ack.reason, ack.state, ack.state_reason) == ("SESSION_ENDED", pb.SESSION_STATE_ENDED, "SESSION_HANDED_OVER")
    await study(phone, until=40)
    await phone.end(FACES[SAME_PERSON])
    entries = await me.entries()
    # The laptop's 30 s were never bracketed by a closing check: lost to the hand-over, with the reason.
    assert rejected(entries, "SESSION_HANDED_OVER") == 30
    assert {e.device_id for e in entries if e.kind == CREDIT} == {"phone-00001"}
    # The phone resumed at the credited position (0) and watched 40 s.
    assert credited(entries) == 40
