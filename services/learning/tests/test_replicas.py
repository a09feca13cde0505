"""Heartbeat state lives in PostgreSQL only: a second learning process (a replica, or the same pod
after a crash and restart) carries on a session exactly where the confirmed heartbeats left it."""

from __future__ import annotations

from training.learning.v1 import learning_pb2_grpc
from training_courses.testing import service_settings
from training_learning.service import LearningService
from training_learning.settings import LearningSettings
from training_runtime.clients import insecure_channel
from training_testkit import running_app

from .conftest import FACES, SAME_PERSON, study


async def test_another_process_continues_a_session_from_its_confirmed_heartbeats(
    learner,
    learning_app,
    learning_database,
    nats_server,
    identity_app,
    platform_secrets,
    rulebook_file,
    training_clock,
) -> None:
    me = await learner()
    player = await me.start()
    await study(player, until=30)
    confirmed = player.acks[-1]
    settings = service_settings(
        LearningSettings,
        database_url=learning_database,
        nats_url=nats_server.url,
        identity_port=identity_app.port,
        secret=platform_secrets["client_secret_learning"],
        rulebook=rulebook_file,
    )
    async with running_app(LearningService(), settings, clock=training_clock) as other:
        channel = insecure_channel(f"127.0.0.1:{other.port}")
        try:
            player.stub = learning_pb2_grpc.LearningServiceStub(channel)
            ack = await player.beat()
            assert ack.reason == "VERIFIED"
            assert ack.pending_seconds + ack.lesson_credited_seconds == (
                confirmed.pending_seconds + confirmed.lesson_credited_seconds + 10
            )
            ended = await player.end(FACES[SAME_PERSON])
        finally:
            await channel.close()
    assert ended.face_check_passed
    entries = await me.entries()
    assert sum(e.credited_seconds for e in entries) == 40
