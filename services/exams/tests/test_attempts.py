"""Attempts through the API against real PostgreSQL and NATS: papers follow the blueprint and
their seed, grading happens on the server, answers are idempotent, late answers are refused, the
deadline and the page-leave limit submit on the server, and concurrent submits grade once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import asyncpg
import grpc

from training.common.v1 import common_pb2 as R
from training.exams.v1 import exams_events_pb2 as ev
from training.exams.v1 import exams_pb2 as pb
from training_exams.sample import TOPICS, section
from training_testkit import wait_until
from training_testkit.rpc import rpc_failure
from training_testkit.streams import published

from .conftest import answer_all, positions

SUBMITTED = "training.exams.attempt.submitted.v1"
GRADED = "training.exams.attempt.graded.v1"
SINGLE, MULTIPLE, TRUE_FALSE = (
    pb.QUESTION_TYPE_SINGLE_CHOICE,
    pb.QUESTION_TYPE_MULTIPLE_CHOICE,
    pb.QUESTION_TYPE_TRUE_FALSE,
)


async def mock_attempt(exam_office, **define):  # type: ignore[no-untyped-def]
    where = await exam_office.exam_class()
    exam = await exam_office.define(where, define.pop("kind", ev.EXAM_KIND_MOCK), **define)
    trainee, enrollment_id = await exam_office.enrolled(where)
    started = await exam_office.start(trainee, exam)
    return where, exam, trainee, enrollment_id, started


async def test_the_paper_follows_the_blueprint_and_its_seed_reproduces_it(exam_office) -> None:
    where, exam, _, _, started = await mock_attempt(exam_office)
    paper = started.paper

    assert (exam.question_count, exam.max_points, exam.pass_mark) == (20, 100, 80)
    assert len(paper.questions) == 20
    assert [q.position for q in paper.questions] == list(range(20))
    assert Counter((q.topic, q.type, q.points) for q in paper.questions) == {
        (topic, kind, points): count
        for topic in TOPICS
        for kind, count, points in ((SINGLE, 2, 5), (MULTIPLE, 1, 6), (TRUE_FALSE, 1, 4))
    }
    assert paper.max_points == 100
    assert all(list(q.options) == ["正确", "错误"] for q in positions(paper, TRUE_FALSE))

    preview = await exam_office.stub.PreviewPaper(
        pb.PreviewPaperRequest(exam_id=exam.exam_id, seed=started.attempt.seed), metadata=where.admin.metadata
    )
    assert preview.paper == paper
    other = await exam_office.stub.PreviewPaper(
        pb.PreviewPaperRequest(exam_id=exam.exam_id, seed=started.attempt.seed + 1), metadata=where.admin.metadata
    )
    assert other.paper != paper
    recorded = await exam_office.attempt(where.admin, started.attempt.attempt_id)
    assert recorded.paper == paper


async def test_each_question_type_is_graded_on_the_server(exam_office, keys) -> None:
    _, _, trainee, _, started = await mock_attempt(exam_office)
    paper = started.paper
    wrong_single = positions(paper, SINGLE)[0].position
    partial_multiple = positions(paper, MULTIPLE)[0].position
    wrong_true_false = positions(paper, TRUE_FALSE)[0].position
    unanswered = positions(paper, SINGLE)[1].position

    def choose(q: pb.PaperQuestion) -> list[int]:
        if q.position in (wrong_single, wrong_true_false):
            return keys.wrong(q)
        if q.position == partial_multiple:
            return keys.partial(q)
        if q.position == unanswered:
            return []
        return keys.right(q)

    await answer_all(exam_office, trainee, started, choose)
    done = await exam_office.submit(trainee, started.attempt.attempt_id)
    result = done.attempt

    lost = {wrong_single: 5, partial_multiple: 6, wrong_true_false: 4, unanswered: 5}
    assert result.status == pb.ATTEMPT_STATUS_GRADED
    assert result.score == 100 - sum(lost.values())
    assert (result.max_points, result.pass_mark, result.passed) == (100, 80, True)
    assert result.answered == 19
    topic_of = {q.position: q.topic for q in paper.questions}
    expected = Counter({topic: 20 for topic in TOPICS})
    for position, points in lost.items():
        expected[topic_of[position]] -= points
    assert {t.topic_code: t.points for t in result.topics} == dict(expected)
    assert all(t.max_points == 20 for t in result.topics)
    assert all(a.verdict == pb.ANSWER_VERDICT_UNSPECIFIED for a in done.answers)


async def test_a_score_below_the_pass_mark_fails(exam_office, keys) -> None:
    _, _, trainee, _, started = await mock_attempt(exam_office)
    await answer_all(exam_office, trainee, started, keys.wrong)

    done = await exam_office.submit(trainee, started.attempt.attempt_id)

    assert (done.attempt.score, done.attempt.passed) == (0, False)


async def test_practice_gives_instant_feedback_and_mock_gives_none(exam_office, keys) -> None:
    practice = [section(SINGLE, 2, 1), section(MULTIPLE, 1, 2), section(TRUE_FALSE, 1, 1)]
    _, exam, trainee, _, started = await mock_attempt(exam_office, kind=ev.EXAM_KIND_PRACTICE, blueprint=practice)
    assert (exam.max_points, exam.pass_mark, exam.page_leave_limit, exam.face_check_at_start) == (5, 4, 0, False)
    attempt_id = started.attempt.attempt_id
    single = positions(started.paper, SINGLE)
    multiple = positions(started.paper, MULTIPLE)[0]

    right = await exam_office.save(trainee, attempt_id, single[0].position, keys.right(single[0]))
    wrong = await exam_office.save(trainee, attempt_id, single[1].position, keys.wrong(single[1]))
    partial = await exam_office.save(trainee, attempt_id, multiple.position, keys.partial(multiple))

    assert right.answer.verdict == pb.ANSWER_VERDICT_CORRECT
    assert wrong.answer.verdict == pb.ANSWER_VERDICT_INCORRECT
    assert partial.answer.verdict == pb.ANSWER_VERDICT_PARTIAL

    _, _, mock_trainee, _, mock = await mock_attempt(exam_office)
    question = mock.paper.questions[0]
    silent = await exam_office.save(mock_trainee, mock.attempt.attempt_id, 0, keys.right(question))
    assert silent.answer.verdict == pb.ANSWER_VERDICT_UNSPECIFIED


async def test_answers_are_idempotent_by_revision_and_checked_against_the_question(exam_office, keys) -> None:
    _, _, trainee, _, started = await mock_attempt(exam_office)
    attempt_id = started.attempt.attempt_id
    question = positions(started.paper, SINGLE)[0]
    right, wrong = keys.right(question), keys.wrong(question)

    first = await exam_office.save(trainee, attempt_id, question.position, wrong, revision=2)
    duplicate = await exam_office.save(trainee, attempt_id, question.position, right, revision=2)
    older = await exam_office.save(trainee, attempt_id, question.position, right, revision=1)
    newer = await exam_office.save(trainee, attempt_id, question.position, right, revision=3)

    assert (first.applied, list(first.answer.selected)) == (True, wrong)
    assert (duplicate.applied, list(duplicate.answer.selected), duplicate.answer.revision) == (False, wrong, 2)
    assert (older.applied, list(older.answer.selected)) == (False, wrong)
    assert (newer.applied, list(newer.answer.selected), newer.answer.revision) == (True, right, 3)

    for selected, revision, field in (([0, 1], 4, "selected"), ([9], 4, "selected"), (right, 0, "revision")):
        bad = await rpc_failure(
            exam_office.save(trainee, attempt_id, question.position, selected, revision=revision),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert bad.fields == (field,)
    beyond = await rpc_failure(
        exam_office.save(trainee, attempt_id, 20, [0], revision=5), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert beyond.fields == ("position",)
    stranger = await exam_office.people.trainee()
    hidden = await rpc_failure(exam_office.save(stranger, attempt_id, 0, [0]), grpc.StatusCode.NOT_FOUND)
    assert hidden.code == grpc.StatusCode.NOT_FOUND

    done = await exam_office.submit(trainee, attempt_id)
    assert [(a.position, list(a.selected)) for a in done.answers] == [(question.position, right)]
    assert done.attempt.score == question.points


async def test_the_deadline_submits_on_the_server_and_late_answers_are_refused(
    exam_office, training_clock, nats_server
) -> None:
    _, _, trainee, enrollment_id, started = await mock_attempt(exam_office, time_limit_minutes=1)
    attempt_id = started.attempt.attempt_id
    await exam_office.save(trainee, attempt_id, 0, [0])

    training_clock.advance(61)  # the trainee's client has vanished; nobody submits
    late = await rpc_failure(exam_office.save(trainee, attempt_id, 1, [0]), grpc.StatusCode.FAILED_PRECONDITION)
    assert late.reason in {"ATTEMPT_DEADLINE_PASSED", "ATTEMPT_CLOSED"}

    async def graded() -> pb.Attempt | None:
        attempt = (await exam_office.attempt(trainee, attempt_id)).attempt
        return attempt if attempt.status == pb.ATTEMPT_STATUS_GRADED else None

    attempt = await wait_until(graded, what="the deadline sweeper to submit the attempt")
    assert attempt.cause == ev.SUBMISSION_CAUSE_DEADLINE
    assert attempt.submitted_at == started.attempt.deadline
    assert attempt.answered == 1
    closed = await rpc_failure(exam_office.save(trainee, attempt_id, 1, [0], revision=2))
    assert closed.reason == "ATTEMPT_CLOSED"

    messages = await wait_until(
        lambda: published(nats_server.url, "TRAINING_EXAMS", SUBMITTED, attempt_id), what="attempt.submitted"
    )
    submitted = ev.AttemptSubmitted.FromString(messages[0].data)
    assert (submitted.cause, submitted.enrollment_id) == (ev.SUBMISSION_CAUSE_DEADLINE, enrollment_id)


async def test_page_leaves_are_logged_and_submit_a_mock_attempt_at_the_rulebook_limit(exam_office) -> None:
    _, exam, trainee, _, started = await mock_attempt(exam_office)
    attempt_id = started.attempt.attempt_id
    assert exam.page_leave_limit == 5

    leave = pb.RecordPageLeaveRequest(attempt_id=attempt_id)
    for count in range(1, 5):
        response = await exam_office.stub.RecordPageLeave(leave, metadata=trainee.metadata)
        assert (response.submitted, response.attempt.page_leaves) == (False, count)
    fifth = await exam_office.stub.RecordPageLeave(leave, metadata=trainee.metadata)

    assert fifth.submitted
    assert fifth.attempt.status == pb.ATTEMPT_STATUS_GRADED
    assert fifth.attempt.cause == ev.SUBMISSION_CAUSE_PAGE_LEAVES
    after = await rpc_failure(
        exam_office.stub.RecordPageLeave(leave, metadata=trainee.metadata), grpc.StatusCode.FAILED_PRECONDITION
    )
    assert after.reason == "ATTEMPT_CLOSED"


async def test_page_leaves_never_submit_a_practice_attempt(exam_office) -> None:
    practice = [section(SINGLE, 1, 1)]
    _, _, trainee, _, started = await mock_attempt(exam_office, kind=ev.EXAM_KIND_PRACTICE, blueprint=practice)

    for _ in range(8):
        response = await exam_office.stub.RecordPageLeave(
            pb.RecordPageLeaveRequest(attempt_id=started.attempt.attempt_id), metadata=trainee.metadata
        )
        assert not response.submitted
    assert response.attempt.page_leaves == 8
    assert response.attempt.status == pb.ATTEMPT_STATUS_IN_PROGRESS


async def test_starting_again_resumes_the_attempt_in_progress_and_mock_exams_are_unlimited(exam_office) -> None:
    where, exam, trainee, _, started = await mock_attempt(exam_office)
    attempt_id = started.attempt.attempt_id
    await exam_office.save(trainee, attempt_id, 3, [1])

    resumed = await exam_office.start(trainee, exam)
    assert (resumed.resumed, resumed.attempt.attempt_id) == (True, attempt_id)
    assert resumed.paper == started.paper
    assert [(a.position, list(a.selected)) for a in resumed.answers] == [(3, [1])]

    await exam_office.submit(trainee, attempt_id)
    numbers = []
    for _ in range(3):
        again = await exam_office.start(trainee, exam)
        await exam_office.submit(trainee, again.attempt.attempt_id)
        numbers.append(again.attempt.number)
    assert numbers == [2, 3, 4]
    listed = await exam_office.stub.ListAttempts(
        pb.ListAttemptsRequest(exam_id=exam.exam_id), metadata=where.admin.metadata
    )
    assert len(listed.attempts) == 4


async def test_concurrent_starts_open_one_attempt(exam_office) -> None:
    where = await exam_office.exam_class()
    exam = await exam_office.define(where, ev.EXAM_KIND_MOCK)
    trainee, _ = await exam_office.enrolled(where)

    starts = await asyncio.gather(*(exam_office.start(trainee, exam) for _ in range(6)))

    assert len({s.attempt.attempt_id for s in starts}) == 1
    assert sorted(s.resumed for s in starts) == [False] + [True] * 5


async def test_concurrent_submits_grade_once_and_publish_each_event_once(
    exam_office, keys, exams_database, nats_server
) -> None:
    _, _, trainee, _, started = await mock_attempt(exam_office)
    attempt_id = started.attempt.attempt_id
    await answer_all(exam_office, trainee, started, keys.right)

    results = await asyncio.gather(*(exam_office.submit(trainee, attempt_id) for _ in range(8)))

    assert {(r.attempt.score, r.attempt.graded_at.ToJsonString()) for r in results} == {
        (100, results[0].attempt.graded_at.ToJsonString())
    }
    conn = await asyncpg.connect(exams_database)
    try:
        rows = await conn.fetch("SELECT subject FROM outbox WHERE event_key = $1", attempt_id)
    finally:
        await conn.close()
    assert sorted(r["subject"] for r in rows) == [GRADED, SUBMITTED]
    graded = await wait_until(
        lambda: published(nats_server.url, "TRAINING_EXAMS", GRADED, attempt_id), what="attempt.graded"
    )
    assert len(graded) == 1
    assert len(await published(nats_server.url, "TRAINING_EXAMS", SUBMITTED, attempt_id)) == 1


async def test_the_graded_event_carries_the_enrollment_and_the_result(exam_office, keys, nats_server) -> None:
    where, exam, trainee, enrollment_id, started = await mock_attempt(exam_office)
    await answer_all(exam_office, trainee, started, keys.right)
    await exam_office.submit(trainee, started.attempt.attempt_id)

    messages = await wait_until(
        lambda: published(nats_server.url, "TRAINING_EXAMS", GRADED, started.attempt.attempt_id),
        what="attempt.graded",
    )
    graded = ev.AttemptGraded.FromString(messages[0].data)
    assert (graded.exam_id, graded.kind, graded.enrollment_id) == (exam.exam_id, ev.EXAM_KIND_MOCK, enrollment_id)
    assert (graded.class_id, graded.trainee_id) == (where.class_id, trainee.user_id)
    assert (graded.institution_id, graded.region_code) == (where.school_class.school.institution_id, "440106")
    assert (graded.score, graded.max_points, graded.pass_mark, graded.passed) == (100, 100, 80, True)
    assert graded.qualification_type == R.QUALIFICATION_TYPE_SAFETY_MANAGER_HIGH_RISK
    assert graded.training_kind == R.TRAINING_KIND_INITIAL
    assert graded.cause == ev.SUBMISSION_CAUSE_TRAINEE
    assert graded.rulebook_version == "test-2026"
    assert sorted(t.topic_code for t in graded.topics) == sorted(TOPICS)
    assert graded.submitted_at.ToDatetime() - graded.started_at.ToDatetime() == timedelta(0)


async def test_overlong_blueprints_and_selections_are_refused_by_their_size_alone(exam_office) -> None:
    # Found by fuzzing: every item of a huge list was converted and checked before any limit applied.
    where, _, trainee, _, started = await mock_attempt(exam_office)
    blueprint = [section(SINGLE, 1, 1.0)] * 51
    failure = await rpc_failure(
        exam_office.define(where, ev.EXAM_KIND_MOCK, blueprint=blueprint), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert failure.fields == ("blueprint",)
    position = started.paper.questions[0].position
    failure = await rpc_failure(
        exam_office.save(trainee, started.attempt.attempt_id, position, [0] * 27), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert failure.fields == ("selected",)
    assert "at most 26" in failure.message
