"""Exams' composition root: builds the application objects and plugs them into the runtime."""

from __future__ import annotations

import grpc

from training.exams.v1 import exams_pb2_grpc
from training.records.v1 import records_pb2_grpc
from training_exams.api import ExamsServicer
from training_exams.app.answering import Answers
from training_exams.app.attempts import AttemptViews
from training_exams.app.banks import Banks
from training_exams.app.catalogue import Catalogue
from training_exams.app.deadlines import DeadlineSweeper
from training_exams.app.exams import Exams
from training_exams.app.projections import courses_consumer, learning_consumer
from training_exams.app.starts import Starts
from training_exams.chains import CHAINS
from training_exams.policy import POLICY
from training_exams.retention import ATTEMPT_DATING
from training_exams.settings import ExamsSettings
from training_records.servicer import RecordChainServicer
from training_rulebook import load_rulebook
from training_runtime.faces import FaceVerifier
from training_runtime.retention import RetentionDater
from training_runtime.server import ServiceContext, Wiring

MIGRATIONS = "training_exams:migrations"


class ExamsService:
    name = "exams"
    grpc_service = "training.exams.v1.ExamsService"
    policy = POLICY
    consumes: tuple[str, ...] = ("courses", "learning")

    def wire(self, ctx: ServiceContext) -> Wiring:
        settings = ctx.settings
        assert isinstance(settings, ExamsSettings)
        rulebooks = load_rulebook(settings.rulebook)
        catalogue = Catalogue(ctx.uow)
        faces = FaceVerifier(ctx.clients.channel(settings.identity_url), timeout=settings.face_check_timeout_seconds)
        views = AttemptViews(ctx.uow, catalogue)
        batching = {"max_batch": settings.write_batch_max, "writers": settings.batch_writers}
        answers = Answers(ctx.uow, ctx.clock, catalogue, views, **batching)
        starts = Starts(ctx.uow, catalogue, faces, views, **batching)
        servicer = ExamsServicer(Banks(ctx.uow), Exams(ctx.uow, rulebooks, catalogue), starts, answers, views)
        sweeper = DeadlineSweeper(
            ctx.uow,
            catalogue,
            interval_seconds=settings.deadline_sweep_interval_seconds,
            batch=settings.deadline_sweep_batch,
        )

        chains = RecordChainServicer(CHAINS, ctx.uow)

        def register(server: grpc.aio.Server) -> None:
            exams_pb2_grpc.add_ExamsServiceServicer_to_server(servicer, server)
            records_pb2_grpc.add_RecordChainServiceServicer_to_server(chains, server)

        async def deadline_sweeper() -> None:
            await sweeper.run()

        async def answer_writers() -> None:
            await answers.run()

        async def start_writers() -> None:
            await starts.run()

        return Wiring(
            register=register,
            consumers=[courses_consumer(rulebooks), learning_consumer()],
            background=[
                deadline_sweeper,
                answer_writers,
                start_writers,
                RetentionDater(ctx.uow, ctx.clock, ATTEMPT_DATING).run,
            ],
        )
