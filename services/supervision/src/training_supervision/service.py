"""Supervision's composition root: builds the application objects and plugs them into the runtime."""

from __future__ import annotations

import grpc

from training.records.v1 import records_pb2_grpc
from training.supervision.v1 import supervision_pb2_grpc
from training_records.servicer import RecordChainServicer
from training_runtime.server import ServiceContext, Wiring
from training_supervision.api import SupervisionServicer
from training_supervision.app.backlog import PushBacklog
from training_supervision.app.chain_heads import ChainHeadReporter
from training_supervision.app.commands import Commands, OwningServices
from training_supervision.app.consumers import consumers
from training_supervision.app.people import PeopleDirectory
from training_supervision.app.province import Province
from training_supervision.app.pusher import Pusher, PushSettings
from training_supervision.app.queries import Queries
from training_supervision.app.sync import DailySync
from training_supervision.chains import CHAINS
from training_supervision.policy import POLICY
from training_supervision.settings import SupervisionSettings, chain_services

MIGRATIONS = "training_supervision:migrations"


def push_settings(settings: SupervisionSettings) -> PushSettings:
    return PushSettings(
        batch_size=settings.push_batch_size,
        concurrency=settings.push_concurrency,
        timeout_seconds=settings.push_timeout_seconds,
        max_attempts=settings.push_max_attempts,
        backoff_base_seconds=settings.push_backoff_base_seconds,
        backoff_max_seconds=settings.push_backoff_max_seconds,
        poll_interval_seconds=settings.push_poll_interval_seconds,
    )


class SupervisionService:
    name = "supervision"
    grpc_service = "training.supervision.v1.SupervisionService"
    policy = POLICY
    consumes: tuple[str, ...] = ("identity", "courses", "learning", "exams", "certificates")

    def wire(self, ctx: ServiceContext) -> Wiring:
        settings = ctx.settings
        assert isinstance(settings, SupervisionSettings)
        province = Province(
            settings.province_url,
            settings.province_token.get_secret_value(),
            ca_file=settings.province_ca_file,
            timeout_seconds=settings.push_timeout_seconds,
        )
        people = PeopleDirectory(ctx.clients.channel(settings.identity_url), timeout=settings.call_timeout_seconds)
        pusher = Pusher(ctx.uow, ctx.clock, province, people, push_settings(settings))
        heads = ChainHeadReporter(
            ctx.uow,
            ctx.clock,
            {
                name: ctx.clients.channel(address)
                for name, address in chain_services(settings.record_chain_services).items()
            },
            region_code=settings.province_region_code,
            timeout_seconds=settings.call_timeout_seconds,
        )
        sync = DailySync(ctx.uow, ctx.clock, province, people, heads, batch_hour=settings.daily_batch_hour)
        commands = Commands(
            ctx.uow,
            ctx.clock,
            province,
            OwningServices(
                identity=ctx.clients.channel(settings.identity_url),
                courses=ctx.clients.channel(settings.courses_url),
                learning=ctx.clients.channel(settings.learning_url),
                certificates=ctx.clients.channel(settings.certificates_url),
                timeout=settings.call_timeout_seconds,
            ),
            province_region=settings.province_region_code,
            poll_interval_seconds=settings.command_poll_interval_seconds,
        )
        backlog = PushBacklog(ctx.uow)
        servicer = SupervisionServicer(Queries(ctx.uow), sync, commands, ctx.clock)

        chains = RecordChainServicer(CHAINS, ctx.uow)

        def register(server: grpc.aio.Server) -> None:
            supervision_pb2_grpc.add_SupervisionServiceServicer_to_server(servicer, server)
            records_pb2_grpc.add_RecordChainServiceServicer_to_server(chains, server)

        async def push_records() -> None:
            await pusher.run()

        async def push_backlog() -> None:
            await backlog.run()

        async def daily_batch() -> None:
            await sync.run()

        async def regulator_commands() -> None:
            await commands.run()

        return Wiring(
            register=register,
            consumers=consumers(ctx.clock, pusher.wake),
            background=[push_records, push_backlog, daily_batch, regulator_commands],
            on_stop=[province.close],
        )
