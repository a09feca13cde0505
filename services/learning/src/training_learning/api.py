"""The gRPC servicer: protobuf in, application call, protobuf out. No rules live here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc

from training.learning.v1 import learning_pb2 as pb
from training.learning.v1 import learning_pb2_grpc
from training_learning.app.heartbeats import BeatIn, HeartbeatBatcher
from training_learning.app.records import Records
from training_learning.app.study import Study
from training_learning.app.views import AckView, AnomalyView, FaceDemand, ProgressView, SessionView
from training_learning.domain.session import Status
from training_runtime.auth import require_principal
from training_runtime.auth.principal import Role
from training_runtime.protoconv import from_timestamp, role_to_proto, timestamp

_STATE = {
    Status.ACTIVE: pb.SESSION_STATE_ACTIVE,
    Status.PAUSED: pb.SESSION_STATE_PAUSED,
    Status.ENDED: pb.SESSION_STATE_ENDED,
}
_VERDICT = {
    "baseline": pb.INTERVAL_VERDICT_BASELINE,
    "pending": pb.INTERVAL_VERDICT_PENDING,
    "rejected": pb.INTERVAL_VERDICT_REJECTED,
}
_ENROLLMENT = {
    "studying": pb.ENROLLMENT_STATE_STUDYING,
    "frozen": pb.ENROLLMENT_STATE_FROZEN,
    "completed": pb.ENROLLMENT_STATE_COMPLETED,
}
_ANOMALY = {
    "open": pb.ANOMALY_STATUS_OPEN,
    "cleared": pb.ANOMALY_STATUS_CLEARED,
    "confirmed": pb.ANOMALY_STATUS_CONFIRMED,
}
_ANOMALY_BACK = {v: k for k, v in _ANOMALY.items()}
_KIND = {
    "CREDIT": pb.LEDGER_ENTRY_KIND_CREDIT,
    "REJECT": pb.LEDGER_ENTRY_KIND_REJECT,
    "CORRECTION": pb.LEDGER_ENTRY_KIND_CORRECTION,
    "INVALIDATION": pb.LEDGER_ENTRY_KIND_INVALIDATION,
}


def demand_pb(d: FaceDemand) -> pb.FaceCheckDemand:
    return pb.FaceCheckDemand(due=d.due, due_at=timestamp(d.due_at), deadline=timestamp(d.deadline))


def session_pb(s: SessionView) -> pb.StudySession:
    return pb.StudySession(
        session_id=s.session_id,
        enrollment_id=s.enrollment_id,
        lesson_id=s.lesson_id,
        device_id=s.device_id,
        state=_STATE[s.status],
        state_reason=s.status_reason,
        started_at=timestamp(s.started_at),
        ended_at=timestamp(s.ended_at),
        resume_position_seconds=s.resume_position,
        face_check=demand_pb(s.face_check),
        pending_seconds=s.pending_seconds,
        lesson_credited_seconds=s.lesson_credited_seconds,
        heartbeat_interval_seconds=s.heartbeat_interval_seconds,
    )


def ack_pb(a: AckView) -> pb.HeartbeatAck:
    return pb.HeartbeatAck(
        session_id=a.session_id,
        sequence=a.sequence,
        verdict=_VERDICT[a.verdict],
        reason=a.reason,
        state=_STATE[a.status],
        state_reason=a.status_reason,
        face_check=demand_pb(a.face_check),
        pending_seconds=a.pending_seconds,
        lesson_credited_seconds=a.lesson_credited_seconds,
    )


def progress_pb(p: ProgressView) -> pb.Progress:
    return pb.Progress(
        enrollment_id=p.enrollment_id,
        class_id=p.class_id,
        trainee_id=p.trainee_id,
        institution_id=p.institution_id,
        state=_ENROLLMENT[p.state],
        rulebook_version=p.rulebook_version,
        class_hour_seconds=p.class_hour_seconds,
        credited_hours=p.credited_hours,
        required_hours=p.required_hours,
        topics=[
            pb.TopicProgress(
                topic_id=t.topic_id,
                code=t.code,
                required_hours=t.required_hours,
                credited_seconds=t.credited_seconds,
                credited_hours=t.credited_hours,
                met=t.met,
            )
            for t in p.topics
        ],
        lessons=[
            pb.LessonProgress(
                lesson_id=lesson.lesson_id,
                course_id=lesson.course_id,
                topic_id=lesson.topic_id,
                duration_seconds=lesson.duration_seconds,
                credited_seconds=lesson.credited_seconds,
                furthest_position_seconds=lesson.furthest_position,
                finished=lesson.finished,
                withdrawn=lesson.withdrawn,
            )
            for lesson in p.lessons
        ],
        completed_at=timestamp(p.completed_at),
    )


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def entry_pb(r: Any) -> pb.LedgerEntry:
    return pb.LedgerEntry(
        entry_id=str(r.id),
        sequence=r.sequence,
        kind=_KIND[r.kind],
        enrollment_id=str(r.enrollment_id),
        lesson_id=_text(r.lesson_id),
        topic_id=_text(r.topic_id),
        credited_seconds=r.credited_seconds,
        interval_seconds=r.interval_seconds,
        interval_start=timestamp(r.interval_start),
        interval_end=timestamp(r.interval_end),
        position_from_seconds=r.position_from or 0.0,
        position_to_seconds=r.position_to or 0.0,
        reason=r.reason,
        rulebook_version=r.rulebook_version,
        session_id=_text(r.session_id),
        device_id=_text(r.device_id),
        first_heartbeat_sequence=r.first_seq or 0,
        last_heartbeat_sequence=r.last_seq or 0,
        opening_face_check_id=_text(r.opening_face_check_id),
        closing_face_check_id=_text(r.closing_face_check_id),
        actor_id=_text(r.actor_id),
        actor_role=role_to_proto(Role(r.actor_role)) if r.actor_role else 0,
        comment=_text(r.comment),
        before_seconds=r.before_seconds or 0.0,
        after_seconds=r.after_seconds or 0.0,
        corrects_entry_id=_text(r.corrects_entry_id),
        recorded_at=timestamp(r.recorded_at),
    )


def anomaly_pb(a: AnomalyView) -> pb.Anomaly:
    return pb.Anomaly(
        anomaly_id=a.anomaly_id,
        kind=a.kind,
        status=_ANOMALY[a.status],
        enrollment_id=a.enrollment_id,
        trainee_id=a.trainee_id,
        class_id=a.class_id,
        institution_id=a.institution_id,
        region_code=a.region_code,
        face_check_ids=a.face_check_ids,
        raised_at=timestamp(a.raised_at),
        reviewed_by=a.reviewed_by,
        reviewed_at=timestamp(a.reviewed_at),
        review_comment=a.review_comment,
    )


def beat_in(h: pb.Heartbeat, trainee_id: str) -> BeatIn:
    return BeatIn(
        trainee_id=trainee_id,
        session_id=h.session_id,
        sequence=h.sequence,
        position=h.position_seconds,
        rate=h.playback_rate,
        focused=h.focused,
        client_time=from_timestamp(h.client_time) if h.HasField("client_time") else None,
    )


class LearningServicer(learning_pb2_grpc.LearningServiceServicer):
    def __init__(self, study: Study, batcher: HeartbeatBatcher, records: Records) -> None:
        self._study = study
        self._batcher = batcher
        self._records = records

    async def StartStudy(
        self, request: pb.StartStudyRequest, context: grpc.aio.ServicerContext
    ) -> pb.StartStudyResponse:
        result = await self._study.start(
            require_principal(),
            request.enrollment_id,
            request.lesson_id,
            request.device_id,
            request.face_image,
            from_timestamp(request.client_time) if request.HasField("client_time") else None,
        )
        return pb.StartStudyResponse(
            session=session_pb(result.session),
            replaced_session_id=result.replaced_session_id,
            face_check_id=result.face_check_id,
        )

    async def SendHeartbeat(
        self, request: pb.SendHeartbeatRequest, context: grpc.aio.ServicerContext
    ) -> pb.SendHeartbeatResponse:
        ack = await self._batcher.submit(beat_in(request.heartbeat, require_principal().subject))
        return pb.SendHeartbeatResponse(ack=ack_pb(ack))

    async def StreamHeartbeats(
        self, request_iterator: AsyncIterator[pb.StreamHeartbeatsRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.StreamHeartbeatsResponse]:
        trainee = require_principal().subject
        async for request in request_iterator:
            ack = await self._batcher.submit(beat_in(request.heartbeat, trainee))
            yield pb.StreamHeartbeatsResponse(ack=ack_pb(ack))

    async def SubmitFaceCheck(
        self, request: pb.SubmitFaceCheckRequest, context: grpc.aio.ServicerContext
    ) -> pb.SubmitFaceCheckResponse:
        result = await self._study.submit_face_check(require_principal(), request.session_id, request.face_image)
        return pb.SubmitFaceCheckResponse(
            face_check_id=result.face_check_id,
            passed=result.passed,
            outcome="FACE_CHECK_OUTCOME_" + result.outcome.upper(),
            session=session_pb(result.session),
            anomaly_id=result.anomaly_id,
        )

    async def EndStudy(self, request: pb.EndStudyRequest, context: grpc.aio.ServicerContext) -> pb.EndStudyResponse:
        result = await self._study.end(require_principal(), request.session_id, request.face_image)
        return pb.EndStudyResponse(
            session=session_pb(result.session), face_check_id=result.face_check_id, face_check_passed=result.passed
        )

    async def GetProgress(
        self, request: pb.GetProgressRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetProgressResponse:
        return pb.GetProgressResponse(
            progress=progress_pb(await self._records.progress(require_principal(), request.enrollment_id))
        )

    async def ExplainHours(
        self, request: pb.ExplainHoursRequest, context: grpc.aio.ServicerContext
    ) -> pb.ExplainHoursResponse:
        progress, rows, token = await self._records.explain(
            require_principal(),
            request.enrollment_id,
            page_size=request.page.page_size,
            page_token=request.page.page_token,
        )
        return pb.ExplainHoursResponse(
            progress=progress_pb(progress), entries=[entry_pb(r) for r in rows], next_page_token=token
        )

    async def ListStudyRecords(
        self, request: pb.ListStudyRecordsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListStudyRecordsResponse:
        sessions, checks = await self._records.study_records(require_principal(), request.enrollment_id)
        return pb.ListStudyRecordsResponse(
            sessions=[
                pb.StudySessionRecord(
                    session_id=str(r.id),
                    enrollment_id=str(r.enrollment_id),
                    lesson_id=str(r.lesson_id),
                    course_id=str(r.course_id),
                    topic_id=str(r.topic_id),
                    device_id=r.device_id,
                    state=_STATE[Status(r.status)],
                    state_reason=r.status_reason,
                    rulebook_version=r.rulebook_version,
                    started_at=timestamp(r.started_at),
                    ended_at=timestamp(r.ended_at),
                    random_checks_scheduled=r.checks_scheduled,
                    random_checks_passed=r.random_checks_passed,
                )
                for r in sessions
            ],
            face_checks=[
                pb.StudyFaceCheck(
                    face_check_id=r.id,
                    session_id=str(r.session_id) if r.session_id else "",
                    enrollment_id=str(r.enrollment_id),
                    purpose=r.purpose,
                    outcome=r.outcome,
                    passed=r.passed,
                    distance=r.distance,
                    checked_at=timestamp(r.checked_at),
                )
                for r in checks
            ],
        )

    async def ListAnomalies(
        self, request: pb.ListAnomaliesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAnomaliesResponse:
        page = await self._records.list_anomalies(
            require_principal(),
            page_size=request.page.page_size,
            page_token=request.page.page_token,
            status=_ANOMALY_BACK.get(request.status),
        )
        return pb.ListAnomaliesResponse(
            anomalies=[anomaly_pb(a) for a in page.items], next_page_token=page.next_page_token
        )

    async def ReviewAnomaly(
        self, request: pb.ReviewAnomalyRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReviewAnomalyResponse:
        decision = {pb.ANOMALY_DECISION_CLEAR: False, pb.ANOMALY_DECISION_CONFIRM: True}.get(request.decision)
        anomaly = await self._records.review_anomaly(
            require_principal(), request.anomaly_id, confirm=decision, comment=request.comment
        )
        return pb.ReviewAnomalyResponse(anomaly=anomaly_pb(anomaly))

    async def CorrectHours(
        self, request: pb.CorrectHoursRequest, context: grpc.aio.ServicerContext
    ) -> pb.CorrectHoursResponse:
        row, progress = await self._records.correct(
            require_principal(), request.enrollment_id, request.lesson_id, request.seconds, request.reason
        )
        return pb.CorrectHoursResponse(entry=entry_pb(row), progress=progress_pb(progress))

    async def InvalidateHours(
        self, request: pb.InvalidateHoursRequest, context: grpc.aio.ServicerContext
    ) -> pb.InvalidateHoursResponse:
        rows, progress = await self._records.invalidate(
            require_principal(), request.enrollment_id, list(request.entry_ids), request.reason
        )
        return pb.InvalidateHoursResponse(entries=[entry_pb(r) for r in rows], progress=progress_pb(progress))
