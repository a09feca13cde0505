"""`RecordChainServicer`: RecordChainService for one service's chains (proto/training/records/v1).

Reads run on a REPEATABLE READ snapshot, so a verification walks one consistent state of the chain
while appends go on.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Any

import grpc
from sqlalchemy import literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from training.records.v1 import records_pb2, records_pb2_grpc
from training_records.chain import ChainSet, ChainSpec
from training_records.heads import Head, current_heads, day_end, heads_at
from training_records.verify import Problem, Verification, verify_chain
from training_runtime.auth import Principal, Role, require_principal
from training_runtime.auth.principal import INSTITUTION_ROLES, region_prefix
from training_runtime.db import UnitOfWork
from training_runtime.errors import InvalidArgument, Validator
from training_runtime.protoconv import timestamp

MAX_RECORD_IDS = 1000

_PROBLEM = {
    Problem.EDITED: records_pb2.CHAIN_PROBLEM_EDITED,
    Problem.MISSING: records_pb2.CHAIN_PROBLEM_MISSING,
    Problem.INSERTED: records_pb2.CHAIN_PROBLEM_INSERTED,
    Problem.REORDERED: records_pb2.CHAIN_PROBLEM_REORDERED,
}


def head_to_proto(head: Head) -> records_pb2.ChainHead:
    message = records_pb2.ChainHead(chain=head.chain, length=head.length, head_hash=head.head_hash)
    if head.head_at is not None:
        message.head_at.CopyFrom(timestamp(head.head_at))
    return message


def verification_to_proto(v: Verification) -> records_pb2.ChainVerification:
    message = records_pb2.ChainVerification(
        chain=v.chain,
        intact=v.intact,
        links_checked=v.links_checked,
        head=head_to_proto(Head(v.chain, v.links_checked, v.head_hash, v.head_at)),
    )
    if v.first_break is not None:
        b = v.first_break
        message.first_break.CopyFrom(
            records_pb2.ChainBreak(
                position=b.position, record_id=b.record_id, problem=_PROBLEM[b.problem], detail=b.detail
            )
        )
    return message


def parse_day(value: str, field: str = "day") -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidArgument(field, "must be a date YYYY-MM-DD") from None


@asynccontextmanager
async def snapshot(uow: UnitOfWork) -> AsyncIterator[AsyncConnection]:
    async with uow.read() as connection:
        await connection.execution_options(isolation_level="REPEATABLE READ")
        yield connection


def _scope(spec: ChainSpec, principal: Principal) -> Any:
    """The rows of `spec` the caller may see links of, as a condition (None: every row)."""
    if principal.role in (Role.OPERATOR, Role.SERVICE):
        return None
    if principal.role is Role.REGULATOR:
        if spec.region is None:
            return None
        if not principal.region_code:
            return literal(False)
        return spec.region.startswith(region_prefix(principal.region_code))
    if principal.role in INSTITUTION_ROLES and spec.institution is not None and principal.institution_id:
        try:
            return spec.institution == uuid.UUID(principal.institution_id)
        except ValueError:
            return literal(False)
    return literal(False)


class RecordChainServicer(records_pb2_grpc.RecordChainServiceServicer):
    def __init__(self, chains: ChainSet, uow: UnitOfWork) -> None:
        self._chains = chains
        self._uow = uow

    def _chain(self, name: str) -> ChainSpec:
        if name not in self._chains.chains:
            raise InvalidArgument(
                "chain", f"unknown chain; {self._chains.service} keeps {', '.join(self._chains.chains)}"
            )
        return self._chains[name]

    async def VerifyChain(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        names = [self._chain(request.chain).name] if request.chain else list(self._chains.chains)
        response = records_pb2.VerifyChainResponse()
        async with snapshot(self._uow) as connection:
            for name in names:
                response.chains.append(verification_to_proto(await verify_chain(connection, self._chains, name)))
        return response

    async def GetChainHeads(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        async with snapshot(self._uow) as connection:
            if request.day:
                # A day still running gives its heads so far; the daily report asks only for days
                # that have ended by supervision's clock.
                heads = await heads_at(connection, self._chains, day_end(parse_day(request.day)))
            else:
                heads = await current_heads(connection, self._chains)
        return records_pb2.GetChainHeadsResponse(service=self._chains.service, heads=[head_to_proto(h) for h in heads])

    async def GetChainLinks(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        principal = require_principal()
        check = Validator()
        spec = None
        if not request.chain:
            check.add("chain", "is required")
        elif request.chain not in self._chains.chains:
            check.add("chain", f"unknown chain; {self._chains.service} keeps {', '.join(self._chains.chains)}")
        else:
            spec = self._chains[request.chain]
        ids = list(dict.fromkeys(request.record_ids))
        if not ids:
            check.add("record_ids", "name at least one record")
        elif len(ids) > MAX_RECORD_IDS:
            check.add("record_ids", f"at most {MAX_RECORD_IDS} records per call")
        elif any(not i.strip() for i in ids):
            check.add("record_ids", "must not hold empty ids")
        check.check()
        assert spec is not None
        links = self._chains.tables.links
        query = select(links).where(links.c.chain == spec.name, links.c.record_id.in_(ids)).order_by(links.c.position)
        scope = _scope(spec, principal)
        if scope is not None:
            joined = links.join(spec.table, spec.id == links.c.record_id.cast(spec.id.type))
            query = query.select_from(joined).where(scope)
        async with self._uow.read() as connection:
            rows = (await connection.execute(query)).all()
        return records_pb2.GetChainLinksResponse(links=[_link(r) for r in rows])


def _link(row: Any) -> records_pb2.ChainLink:
    appended: datetime = row.appended_at
    return records_pb2.ChainLink(
        record_id=row.record_id,
        position=row.position,
        record_digest=row.record_digest,
        previous_hash=row.previous_hash,
        link_hash=row.link_hash,
        appended_at=timestamp(appended),
    )
