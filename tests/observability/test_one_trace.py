"""One trace follows a trainee through the real services: registration and face enrollment, study
under face checks (learning calls identity over gRPC), credited hours and the class completion
(learning's outbox, NATS), the class-final exam and its grading (exams, group commit), the
certificate (certificates joins the completion and the passed exam), and the supervision push to
the provincial platform simulator.

What "follows" means (docs/operations.md, "Traces"): every span below is in the trainee's trace;
over gRPC a server span is the child of the caller's client span; over NATS an event's publish span
is the child of the span that wrote it to the outbox and each consumer's process span is the child
of the publish span. Where work joins two traces' worth of facts (the certificate needs both the
completion and the passed exam) the issuance is the child of the fact that completed the join and
links the other; a push request is the child of its first sampled record and links the others.
"""

from __future__ import annotations

import json

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from training.exams.v1 import exams_events_pb2 as xev
from training.exams.v1 import exams_pb2 as xpb
from training.learning.v1 import learning_pb2 as lpb
from training_certificates.testing import Graduate
from training_exams.sample import sample_bank
from training_identity.testing import FacePhotos
from training_testkit import wait_until
from training_testkit.telemetry import sampled_root

pytestmark = pytest.mark.slow
FACES = FacePhotos()

COMPLETED = "training.learning.class.completed.v1"
GRADED = "training.exams.attempt.graded.v1"
ISSUED = "training.certificates.certificate.issued.v1"


def right_answers() -> dict[str, set[str]]:
    """The sample bank's correct option texts by question stem (the test knows the keys)."""
    keys: dict[str, set[str]] = {}
    for q in json.loads(sample_bank())["questions"]:
        if q["type"] == "true_false":
            keys[q["stem"]] = {"正确" if q["answer"] else "错误"}
        else:
            keys[q["stem"]] = {q["options"]["ABCDEFGH".index(letter)] for letter in q["answer"]}
    return keys


class Trace:
    """The finished spans of one trace, with their parent links."""

    def __init__(self, spans: list[ReadableSpan], trace_id: int) -> None:
        self.all = spans
        self.spans = [s for s in spans if s.context.trace_id == trace_id]
        self.by_id = {s.context.span_id: s for s in self.spans}

    def named(self, name: str, kind: SpanKind | None = None) -> list[ReadableSpan]:
        return [s for s in self.spans if s.name.lstrip("/") == name and (kind is None or s.kind == kind)]

    def one(self, name: str, kind: SpanKind | None = None) -> ReadableSpan:
        found = self.named(name, kind)
        assert found, f"no span {name!r} ({kind}) in the trace; have {sorted({s.name for s in self.spans})}"
        return found[0]

    def parent(self, span: ReadableSpan) -> ReadableSpan | None:
        return self.by_id.get(span.parent.span_id) if span.parent is not None else None

    def ancestors(self, span: ReadableSpan) -> list[ReadableSpan]:
        chain, current = [], self.parent(span)
        while current is not None:
            chain.append(current)
            current = self.parent(current)
        return chain

    def consumed(self, subject: str, consumer: str) -> ReadableSpan:
        """The process span of `subject` by the durable consumer `consumer`."""
        found = [
            s
            for s in self.named(f"{subject} process", SpanKind.CONSUMER)
            if (s.attributes or {}).get("messaging.consumer.group.name") == consumer
        ]
        assert found, f"{consumer} processed no {subject} in the trace"
        return found[0]

    def hop_over_nats(self, subject: str, consumer: str) -> tuple[ReadableSpan, ReadableSpan]:
        """(publish, process): the consumer's span is the child of the relay's publish span."""
        process = self.consumed(subject, consumer)
        publish = self.parent(process)
        assert publish is not None, f"{consumer}'s {subject} span has no parent in the trace"
        assert publish.kind == SpanKind.PRODUCER
        assert publish.name == f"{subject} publish"
        return publish, process


def links_of(span: ReadableSpan) -> set[tuple[int, int]]:
    return {(link.context.trace_id, link.context.span_id) for link in span.links}


def ref(span: ReadableSpan) -> tuple[int, int]:
    return (span.context.trace_id, span.context.span_id)


async def test_one_trace_follows_a_trainee_from_study_to_the_province(
    span_exporter,
    people,
    campus,
    classroom,
    exam_office,
    graduation,
    supervision_app,
    province,
    training_clock,
) -> None:
    keys = right_answers()
    where = await exam_office.exam_class(topics=(("law", 1),), lessons=(60,))
    final = await exam_office.define(where, xev.EXAM_KIND_FINAL, max_attempts=1, face_check=None)

    with sampled_root() as trace_id:
        trainee = await people.enrolled_trainee(FACES["obama.jpg"])
        enrollment_id = await classroom.enrolled(where.school_class, trainee)
        await exam_office.wait_enrolled(where, trainee)
        for lesson in where.school_class.lessons():
            player = await classroom.start(trainee, enrollment_id, lesson.lesson_id, FACES["obama2.jpg"])
            await player.study(lesson.duration_seconds, FACES["obama2.jpg"])
            await player.end(FACES["obama2.jpg"])
        assert (await classroom.progress(trainee, enrollment_id)).state == lpb.ENROLLMENT_STATE_COMPLETED

        async def started() -> xpb.StartAttemptResponse | None:
            try:
                return await exam_office.start(trainee, final, FACES["obama2.jpg"])
            except Exception as exc:  # CLASS_NOT_COMPLETED until exams has the completion
                if "complete" in str(exc):
                    return None
                raise

        attempt = await wait_until(started, what="exams to learn of the completion")
        for q in attempt.paper.questions:
            chosen = [i for i, text in enumerate(q.options) if text in keys[q.stem]]
            await exam_office.save(trainee, attempt.attempt.attempt_id, q.position, chosen)
        submitted = await exam_office.submit(trainee, attempt.attempt.attempt_id)
        assert submitted.attempt.passed

        graduate = Graduate(
            trainee=trainee, institution_id=where.school_class.school.institution_id, region_code="440106"
        )
        graduate.enrollment_id = enrollment_id
        certificate = await graduation.certificate(graduate, timeout=30)

    def at_the_province() -> bool:
        return any(
            s.record["record_type"] == "certificate"
            and s.record["data"].get("serial_number") == certificate.serial_number
            for s in province.store.in_arrival_order()
        )

    await wait_until(at_the_province, timeout=30, what="the certificate at the province")

    def pushed() -> Trace | None:
        found = Trace(span_exporter.get_finished_spans(), trace_id)
        supervised = [
            s
            for s in found.named(f"{ISSUED} process", SpanKind.CONSUMER)
            if (s.attributes or {}).get("messaging.consumer.group.name") == "supervision-certificates"
        ]
        if not supervised:
            return None
        target = ref(supervised[0])
        pushes = [
            s
            for s in span_exporter.get_finished_spans()
            if s.name == "province push"
            and ((s.parent is not None and (s.parent.trace_id, s.parent.span_id) == target) or target in links_of(s))
        ]
        return found if pushes else None

    spans = await wait_until(pushed, timeout=30, what="the certificate's push span")

    # gRPC: learning's StartStudy asks identity to verify the face; identity's server span is the
    # child of learning's client span, itself inside StartStudy's server span.
    start_study = spans.one("training.learning.v1.LearningService/StartStudy", SpanKind.SERVER)
    verifications = [
        s
        for s in spans.named("training.identity.v1.IdentityService/VerifyFace", SpanKind.SERVER)
        if start_study in spans.ancestors(s)
    ]
    assert verifications, "identity's VerifyFace is not inside learning's StartStudy"
    client = spans.parent(verifications[0])
    assert client is not None
    assert client.kind == SpanKind.CLIENT
    assert (client.attributes or {}).get("rpc.service", "").endswith("IdentityService")

    # SQLAlchemy: each service's statements are spans inside the call that ran them.
    for call in (start_study, verifications[0]):
        statements = [s for s in spans.spans if call in spans.ancestors(s) and "db.statement" in (s.attributes or {})]
        assert statements, f"no database statement spans inside {call.name}"
        assert all(s.kind == SpanKind.CLIENT and s.attributes["db.system"] == "postgresql" for s in statements)

    # NATS: the completion, written by learning while serving the trainee's study calls, reaches
    # certificates, exams and supervision as children of its publish span.
    completion_publish, certificates_completion = spans.hop_over_nats(COMPLETED, "certificates-learning")
    learning_calls = [
        s for s in spans.ancestors(completion_publish) if s.kind == SpanKind.SERVER and "LearningService" in s.name
    ]
    assert learning_calls, "the completion's publish span is not inside a learning call"
    spans.hop_over_nats(COMPLETED, "exams-learning")
    spans.hop_over_nats(COMPLETED, "supervision-learning")

    # The grading, written by exams' group commit for the SubmitAttempt call, continues its trace.
    graded_publish, certificates_graded = spans.hop_over_nats(GRADED, "certificates-exams")
    submit = spans.one("training.exams.v1.ExamsService/SubmitAttempt", SpanKind.SERVER)
    assert submit in spans.ancestors(graded_publish)

    # The join: the issuance is the child of whichever fact came last and links the other.
    issue = spans.one("certificate issue")
    joined = {ref(certificates_completion), ref(certificates_graded)}
    parent = spans.parent(issue)
    assert parent is not None
    assert ref(parent) in joined
    assert joined - {ref(parent)} <= links_of(issue)

    # The certificate's event, published from the issuance, reaches supervision, whose push of the
    # record to the province continues (or, in a request shared with other traces, links) it.
    issued_publish, supervised = spans.hop_over_nats(ISSUED, "supervision-certificates")
    assert issue in spans.ancestors(issued_publish)
    push = next(
        s
        for s in span_exporter.get_finished_spans()
        if s.name == "province push"
        and (
            (s.parent is not None and (s.parent.trace_id, s.parent.span_id) == ref(supervised))
            or ref(supervised) in links_of(s)
        )
    )
    assert push.kind == SpanKind.CLIENT
    in_trace = [s for s in spans.spans if s.name == "province push"]
    assert in_trace, "no push request of this trainee's records is in the trace"
