"""The gRPC servicer: proto in, use case, proto out. No rules here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from training.supervision.v1 import supervision_pb2 as pb
from training.supervision.v1 import supervision_pb2_grpc
from training_runtime.auth import require_principal
from training_runtime.clock import Clock
from training_runtime.errors import FailedPrecondition, Unavailable
from training_runtime.protoconv import timestamp
from training_supervision.app.commands import STATUS_TO_PROTO, TYPE_TO_PROTO, Commands
from training_supervision.app.province import ProvinceRefused, ProvinceUnavailable
from training_supervision.app.queries import Queries
from training_supervision.app.sync import DailySync, parse_day
from training_supervision.domain.commands import CommandStatus, CommandType
from training_supervision.domain.records import PushStatus, RecordType

_STATUS = {
    PushStatus.PENDING: pb.PUSH_STATUS_PENDING,
    PushStatus.SENT: pb.PUSH_STATUS_SENT,
    PushStatus.ACKNOWLEDGED: pb.PUSH_STATUS_ACKNOWLEDGED,
    PushStatus.FAILED: pb.PUSH_STATUS_FAILED,
}
_STATUS_BACK = {v: k.value for k, v in _STATUS.items()}
_TYPE = {t: pb.RecordType.Value(f"RECORD_TYPE_{t.name}") for t in RecordType}
_TYPE_BACK = {v: k.value for k, v in _TYPE.items()}


def record_proto(row: Any) -> pb.PushRecord:
    return pb.PushRecord(
        record_id=str(row.id),
        idempotency_key=row.idempotency_key,
        record_type=_TYPE[RecordType(row.record_type)],
        operation=row.operation,
        order_key=row.order_key,
        sequence=row.sequence,
        region_code=row.region_code,
        institution_id=str(row.institution_id) if row.institution_id else "",
        trainee_id=str(row.trainee_id) if row.trainee_id else "",
        status=_STATUS[PushStatus(row.status)],
        attempts=row.attempts,
        last_error=row.last_error or "",
        occurred_at=timestamp(row.occurred_at),
        next_attempt_at=timestamp(row.next_attempt_at),
        acknowledged_at=timestamp(row.acknowledged_at),
        receipt_id=row.receipt_id or "",
    )


def command_proto(row: Any) -> pb.RegulatorCommand:
    kind = TYPE_TO_PROTO.get(CommandType(row.command_type)) if row.command_type in set(CommandType) else None
    return pb.RegulatorCommand(
        command_id=row.command_id,
        command_type=kind or pb.COMMAND_TYPE_UNSPECIFIED,
        region_code=row.region_code,
        target_id=row.target_id,
        reason=row.reason,
        status=STATUS_TO_PROTO[CommandStatus(row.status)],
        detail=row.detail,
        issued_at=timestamp(row.issued_at),
        settled_at=timestamp(row.settled_at),
        outcome_reported=row.outcome_reported,
    )


@contextmanager
def _province_answers() -> Iterator[None]:
    """The provincial platform's failures as statuses: no answer is retryable, a refusal is not."""
    try:
        yield
    except ProvinceUnavailable as exc:
        raise Unavailable(f"the provincial platform did not answer ({exc}); retry shortly") from exc
    except ProvinceRefused as exc:
        raise FailedPrecondition("PROVINCE_REFUSED", f"the provincial platform refused the request: {exc}") from exc


class SupervisionServicer(supervision_pb2_grpc.SupervisionServiceServicer):
    def __init__(self, queries: Queries, sync: DailySync, commands: Commands, clock: Clock) -> None:
        self._queries = queries
        self._sync = sync
        self._commands = commands
        self._clock = clock

    async def ListPushRecords(self, request: pb.ListPushRecordsRequest, context):  # type: ignore[no-untyped-def]
        rows, token = await self._queries.records(
            require_principal(),
            page_size=request.page.page_size,
            page_token=request.page.page_token,
            status=_STATUS_BACK.get(request.status),
            record_type=_TYPE_BACK.get(request.record_type),
            trainee_id=request.trainee_id,
            institution_id=request.institution_id,
        )
        return pb.ListPushRecordsResponse(records=[record_proto(r) for r in rows], next_page_token=token)

    async def ListFailedPushes(self, request: pb.ListFailedPushesRequest, context):  # type: ignore[no-untyped-def]
        rows, token = await self._queries.records(
            require_principal(),
            page_size=request.page.page_size,
            page_token=request.page.page_token,
            status=None,
            record_type=None,
            trainee_id="",
            institution_id="",
            failed_only=True,
        )
        return pb.ListFailedPushesResponse(records=[record_proto(r) for r in rows], next_page_token=token)

    async def RetryFailedPushes(self, request: pb.RetryFailedPushesRequest, context):  # type: ignore[no-untyped-def]
        return pb.RetryFailedPushesResponse(requeued=await self._queries.retry_failed(list(request.record_ids)))

    async def RunDailyBatch(self, request: pb.RunDailyBatchRequest, context):  # type: ignore[no-untyped-def]
        with _province_answers():
            result = await self._sync.batch(parse_day(request.batch_date, self._clock, "batch_date"))
        return pb.RunDailyBatchResponse(
            batch_id=result.batch_id,
            batch_date=result.batch_date.isoformat(),
            records=result.records,
            newly_stored=result.newly_stored,
        )

    async def ReconcileDay(self, request: pb.ReconcileDayRequest, context):  # type: ignore[no-untyped-def]
        with _province_answers():
            result = await self._sync.reconcile(parse_day(request.date, self._clock, "date"))
        return pb.ReconcileDayResponse(
            date=result.day.isoformat(),
            ours=result.ours,
            theirs=result.theirs,
            resent=result.resent,
            unknown_to_us=result.unknown_to_us,
        )

    async def FetchRegulatorCommands(self, request: pb.FetchRegulatorCommandsRequest, context):  # type: ignore[no-untyped-def]
        with _province_answers():
            received, settled = await self._commands.fetch()
        return pb.FetchRegulatorCommandsResponse(received=received, settled=settled)

    async def ListRegulatorCommands(self, request: pb.ListRegulatorCommandsRequest, context):  # type: ignore[no-untyped-def]
        rows, token = await self._queries.commands(
            require_principal(), page_size=request.page.page_size, page_token=request.page.page_token
        )
        return pb.ListRegulatorCommandsResponse(commands=[command_proto(r) for r in rows], next_page_token=token)

    async def GetRegionStatistics(self, request: pb.GetRegionStatisticsRequest, context):  # type: ignore[no-untyped-def]
        s = await self._queries.statistics(require_principal(), request.region_code, request.institution_id)
        return pb.GetRegionStatisticsResponse(
            statistics=pb.RegionStatistics(
                region_code=s.region_code,
                institution_id=s.institution_id,
                institutions=s.institutions,
                classes=s.classes,
                trainees=s.trainees,
                enrollments=s.enrollments,
                credited_hours=s.credited_hours,
                completions=s.completions,
                final_exams=s.final_exams,
                final_exams_passed=s.final_exams_passed,
                pass_rate=s.pass_rate,
                certificates_issued=s.certificates_issued,
                certificates_revoked=s.certificates_revoked,
                anomalies=s.anomalies,
            )
        )
