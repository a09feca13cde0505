"""What learning keeps of courses' facts: a class governed by a rulebook version learning does not
hold is refused at once (dead-lettered with an alert) rather than credited under the wrong rules."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import nats

from training.common.v1 import common_pb2 as R
from training.courses.v1 import courses_events_pb2 as events
from training_events import Headers
from training_events.envelope import format_time
from training_runtime.protoconv import timestamp
from training_testkit import wait_until
from training_testkit.streams import published


async def test_a_class_under_an_unknown_rulebook_version_is_dead_lettered(learning_app, nats_server) -> None:
    class_id = str(uuid.uuid4())
    message = events.ClassOpened(
        class_id=class_id,
        institution_id=str(uuid.uuid4()),
        region_code="440106",
        syllabus_id=str(uuid.uuid4()),
        qualification_type=R.QUALIFICATION_TYPE_SAFETY_MANAGER_HIGH_RISK,
        training_kind=R.TRAINING_KIND_INITIAL,
        rulebook_version="somewhere-else-2026",
        opened_at=timestamp(datetime.now(UTC)),
    )
    client = await nats.connect(nats_server.url)
    try:
        await client.jetstream().publish(
            "training.courses.class.opened.v1",
            message.SerializeToString(),
            headers={
                Headers.MSG_ID: str(uuid.uuid4()),
                Headers.TYPE: "training.courses.v1.ClassOpened",
                Headers.SOURCE: "courses",
                Headers.TIME: format_time(datetime.now(UTC)),
                Headers.KEY: class_id,
            },
        )
    finally:
        await client.close()
    dead = await wait_until(
        lambda: published(nats_server.url, "TRAINING_DEADLETTER", "training.deadletter.learning-courses", class_id),
        what="the class to be dead-lettered",
    )
    reason = dead[0].headers[Headers.DEAD_LETTER_REASON]
    assert "somewhere-else-2026" in reason
    assert "same rulebook" in reason
