"""Each finished day's record-chain heads reach the province once (docs/records.md): the daily batch
queues one chain_head record holding every chained service's heads as of that day's end, which the
province receives exactly once however often the batch runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from training.records.v1 import records_pb2 as rpb
from training.records.v1 import records_pb2_grpc
from training.supervision.v1 import supervision_pb2 as pb
from training_records.heads import CHINA
from training_runtime.clients import insecure_channel
from training_testkit import wait_until


async def test_a_days_chain_heads_reach_the_province_exactly_once(
    scenario, people, supervision_stub, province, identity_app, learning_app, certificates_app, supervision_app
) -> None:  # type: ignore[no-untyped-def]
    # A day no other test reports and the daily loop does not reach on its own (it reports the day
    # just ended): some services here run on a test clock set in the past, so their heads "as of"
    # yesterday keep growing as other tests study, and a record queued earlier would not match.
    day = (datetime.now(UTC).astimezone(CHINA) - timedelta(days=9)).date()
    request = pb.RunDailyBatchRequest(batch_date=day.isoformat())
    for _ in range(2):
        await supervision_stub.RunDailyBatch(request, metadata=people.operator.metadata)

    def received():  # type: ignore[no-untyped-def]
        return province.store.chain_heads(day)

    data = await wait_until(received, timeout=30, what="the chain heads at the province")
    held = [s for s in province.store.in_arrival_order() if s.record["record_type"] == "chain_head"]
    assert [s.record["idempotency_key"] for s in held].count(f"chain_head:{day.isoformat()}") == 1
    assert data["day"] == day.isoformat()
    by_service = {s["service"]: s["heads"] for s in data["services"]}
    assert sorted(by_service) == ["certificates", "identity", "learning", "supervision"]

    apps = {
        "identity": identity_app,
        "learning": learning_app,
        "certificates": certificates_app,
        "supervision": supervision_app,
    }
    for name, app in apps.items():
        channel = insecure_channel(f"127.0.0.1:{app.port}")
        try:
            stub = records_pb2_grpc.RecordChainServiceStub(channel)
            answer = await stub.GetChainHeads(
                rpb.GetChainHeadsRequest(day=day.isoformat()), metadata=people.operator.metadata
            )
        finally:
            await channel.close()
        assert [(h["chain"], h["length"], h["head_hash"]) for h in by_service[name]] == [
            (h.chain, h.length, h.head_hash) for h in answer.heads
        ]

    listed = await supervision_stub.ListPushRecords(
        pb.ListPushRecordsRequest(record_type=pb.RECORD_TYPE_CHAIN_HEAD), metadata=people.operator.metadata
    )
    keys = [r.idempotency_key for r in listed.records]
    assert keys.count(f"chain_head:{day.isoformat()}") == 1


async def test_a_chain_head_record_that_is_not_well_formed_is_rejected_by_the_province(province) -> None:  # type: ignore[no-untyped-def]
    status, _, error = province.store.put(
        {
            "idempotency_key": "chain_head:bad",
            "record_type": "chain_head",
            "operation": "reported",
            "order_key": "platform:chain_heads",
            "sequence": 1,
            "occurred_at": "2026-03-02T00:00:00Z",
            "data": {
                "day": "2026-03-01",
                "services": [{"service": "learning", "heads": [{"chain": "x", "length": 1, "head_hash": "nope"}]}],
            },
        }
    )
    assert status == "rejected"
    assert "head_hash must be 64 hex digits" in error
