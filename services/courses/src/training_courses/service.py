"""Courses' composition root: builds the application objects and plugs them into the runtime."""

from __future__ import annotations

import grpc

from training.courses.v1 import courses_pb2_grpc
from training_courses.api import CoursesServicer
from training_courses.app.classes import Classes
from training_courses.app.courses import Courses
from training_courses.app.projections import identity_consumer, learning_consumer
from training_courses.app.quality import Quality
from training_courses.app.syllabi import Syllabi
from training_courses.directory import Directory
from training_courses.policy import POLICY
from training_courses.settings import CoursesSettings
from training_rulebook import load_rulebook
from training_runtime.server import ServiceContext, Wiring

MIGRATIONS = "training_courses:migrations"


class CoursesService:
    name = "courses"
    grpc_service = "training.courses.v1.CoursesService"
    policy = POLICY
    consumes: tuple[str, ...] = ("identity", "learning")

    def wire(self, ctx: ServiceContext) -> Wiring:
        settings = ctx.settings
        assert isinstance(settings, CoursesSettings)
        rulebooks = load_rulebook(settings.rulebook)
        directory = Directory(ctx.clients.channel(settings.identity_url))
        servicer = CoursesServicer(
            Syllabi(ctx.uow, ctx.clock, rulebooks),
            Courses(ctx.uow, ctx.clock, rulebooks, directory),
            Classes(ctx.uow, ctx.clock, rulebooks, directory),
            Quality(ctx.uow),
        )

        def register(server: grpc.aio.Server) -> None:
            courses_pb2_grpc.add_CoursesServiceServicer_to_server(servicer, server)

        return Wiring(register=register, consumers=[identity_consumer(), learning_consumer()])
