"""Learning's composition root: builds the application objects and plugs them into the runtime."""

from __future__ import annotations

import grpc

from training.learning.v1 import learning_pb2_grpc
from training.records.v1 import records_pb2_grpc
from training_learning.api import LearningServicer
from training_learning.app.heartbeats import HeartbeatBatcher
from training_learning.app.projections import consumer
from training_learning.app.records import Records
from training_learning.app.study import Study
from training_learning.app.sweeper import Sweeper
from training_learning.chains import CHAINS
from training_learning.policy import POLICY
from training_learning.retention import LEDGER_DATING
from training_learning.settings import LearningSettings
from training_records.servicer import RecordChainServicer
from training_rulebook import load_rulebook
from training_runtime.faces import FaceVerifier
from training_runtime.retention import RetentionDater
from training_runtime.server import ServiceContext, Wiring

MIGRATIONS = "training_learning:migrations"


class LearningService:
    name = "learning"
    grpc_service = "training.learning.v1.LearningService"
    policy = POLICY
    consumes: tuple[str, ...] = ("courses",)

    def wire(self, ctx: ServiceContext) -> Wiring:
        settings = ctx.settings
        assert isinstance(settings, LearningSettings)
        rulebooks = load_rulebook(settings.rulebook)
        faces = FaceVerifier(ctx.clients.channel(settings.identity_url), timeout=settings.face_check_timeout_seconds)
        batcher = HeartbeatBatcher(
            ctx.database,
            ctx.clock,
            rulebooks,
            max_batch=settings.heartbeat_batch_max,
            writers=settings.heartbeat_writers,
        )
        sweeper = Sweeper(ctx.uow, ctx.clock, rulebooks, interval_seconds=settings.sweep_interval_seconds)
        servicer = LearningServicer(Study(ctx.uow, ctx.clock, rulebooks, faces), batcher, Records(ctx.uow, rulebooks))

        chains = RecordChainServicer(CHAINS, ctx.uow)

        def register(server: grpc.aio.Server) -> None:
            learning_pb2_grpc.add_LearningServiceServicer_to_server(servicer, server)
            records_pb2_grpc.add_RecordChainServiceServicer_to_server(chains, server)

        async def heartbeat_writer() -> None:
            await batcher.run()

        async def session_sweeper() -> None:
            await sweeper.run()

        return Wiring(
            register=register,
            consumers=[consumer(rulebooks, ctx.clock)],
            background=[heartbeat_writer, session_sweeper, RetentionDater(ctx.uow, ctx.clock, LEDGER_DATING).run],
            on_stop=[batcher.close],
        )
