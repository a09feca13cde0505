"""Each finished day's record-chain heads to the province (docs/records.md): once a day has ended in
China time, the heads of every chained service's chains as of that midnight (RecordChainService.
GetChainHeads over gRPC; supervision's own from its database) go out as one `chain_head` record
through the push queue, so they are delivered exactly once, retried, and listed with the other push
records. With the heads held outside the platform, a rewrite of history no longer verifies against
them."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime
from typing import Any

import grpc
from sqlalchemy import select

from training.records.v1 import records_pb2, records_pb2_grpc
from training_records.heads import day_end, heads_at
from training_records.servicer import snapshot
from training_runtime.clock import Clock
from training_runtime.db import UnitOfWork
from training_runtime.errors import Unavailable
from training_supervision.app.queue import enqueue
from training_supervision.chains import CHAINS
from training_supervision.domain.records import Record, RecordType
from training_supervision.persistence.tables import push_records

log = logging.getLogger(__name__)

ORDER_KEY = "platform:chain_heads"


def record_key(day: date) -> str:
    return f"chain_head:{day.isoformat()}"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


class ChainHeadReporter:
    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        services: dict[str, grpc.aio.Channel],
        *,
        region_code: str,
        timeout_seconds: float,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._stubs = {name: records_pb2_grpc.RecordChainServiceStub(ch) for name, ch in services.items()}
        self._region_code = region_code
        self._timeout = timeout_seconds

    async def queued(self, day: date) -> bool:
        async with self._uow.read() as session:
            found = await session.scalar(
                select(push_records.c.id).where(push_records.c.idempotency_key == record_key(day))
            )
        return found is not None

    async def _remote(self, name: str, day: date) -> dict[str, Any]:
        try:
            response = await self._stubs[name].GetChainHeads(
                records_pb2.GetChainHeadsRequest(day=day.isoformat()), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as exc:
            raise Unavailable(f"{name} did not give its chain heads for {day}: {exc.code().name}") from exc
        return {
            "service": response.service or name,
            "heads": [
                {
                    "chain": h.chain,
                    "length": h.length,
                    "head_hash": h.head_hash,
                    "head_at": _iso(h.head_at.ToDatetime(tzinfo=UTC)) if h.HasField("head_at") else None,
                }
                for h in response.heads
            ],
        }

    async def collect(self, day: date) -> list[dict[str, Any]]:
        """Every service's heads as of the end of `day`, by service name."""
        async with snapshot(self._uow) as connection:
            own = await heads_at(connection, CHAINS, day_end(day))
        mine = {
            "service": CHAINS.service,
            "heads": [
                {"chain": h.chain, "length": h.length, "head_hash": h.head_hash, "head_at": _iso(h.head_at)}
                for h in own
            ],
        }
        others = await asyncio.gather(*(self._remote(name, day) for name in self._stubs))
        return sorted([mine, *others], key=lambda s: s["service"])

    async def report(self, day: date) -> bool:
        """Queue `day`'s chain-head record unless it is queued already or the day has not ended;
        True when it was queued now. Raises Unavailable when a service does not answer (retry later)."""
        now = self._clock.now()
        if day_end(day) > now or await self.queued(day):
            return False
        services = await self.collect(day)
        record = Record(
            idempotency_key=record_key(day),
            record_type=RecordType.CHAIN_HEAD,
            operation="reported",
            order_key=ORDER_KEY,
            occurred_at=now,
            region_code=self._region_code,
            data={"day": day.isoformat(), "services": services},
        )
        async with self._uow.begin() as tx:
            added = await enqueue(tx.session, record, tx.now())
        if added:
            log.info("chain heads of %s queued for the province", day)
        return added
