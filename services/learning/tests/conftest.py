"""Helpers for learning's scenario tests: real photographs, a trainee ready to study, and a player
that studies honestly, answering every face check the server asks for."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from training.learning.v1 import learning_pb2 as pb
from training_courses.testing import OpenClass
from training_identity.testing import FacePhotos, Person
from training_learning.testing import Classroom, Player

FACES = FacePhotos(Path(__file__).parent / "data" / "faces")
SAME_PERSON = "obama2.jpg"
SOMEONE_ELSE = "biden.jpg"


@pytest.fixture(scope="session")
def faces() -> FacePhotos:
    return FACES


@dataclass
class Learner:
    """A trainee with an enrolled face, enrolled in an open class that learning knows."""

    person: Person
    opened: OpenClass
    enrollment_id: str
    classroom: Classroom

    async def start(self, index: int = 0, *, photo: str = SAME_PERSON, device: str = "device-aaaaaaaa") -> Player:
        return await self.classroom.start(
            self.person, self.enrollment_id, self.opened.lessons()[index].lesson_id, FACES[photo], device=device
        )

    async def progress(self) -> pb.Progress:
        return await self.classroom.progress(self.person, self.enrollment_id)

    async def entries(self) -> list[pb.LedgerEntry]:
        return await self.classroom.entries(self.person, self.enrollment_id)


@pytest.fixture
def learner(classroom: Classroom, campus, people):  # type: ignore[no-untyped-def]
    """`await learner()` -> a Learner in a fresh class (topics law 1 h and safety 1 h, lessons of 120 s)."""

    async def make(*, topics=(("law", 1), ("safety", 1)), lessons=(120,), opened: OpenClass | None = None) -> Learner:  # type: ignore[no-untyped-def]
        opened = opened or await campus.open_class(topics=topics, lessons=lessons)
        person = await people.enrolled_trainee(FACES["obama.jpg"])
        enrollment_id = await classroom.enrolled(opened, person)
        return Learner(person, opened, enrollment_id, classroom)

    return make


async def study(player: Player, *, until: float, photo: str = SAME_PERSON, step: float = 10.0) -> None:
    """Watch honestly at 1x to position `until`, answering each due face check with `photo`."""
    await player.study(until, FACES[photo], step=step)


async def beat(player: Player, **kwargs: object) -> pb.HeartbeatAck:
    """One heartbeat (see Player.beat); a random check it says is due is answered at once."""
    ack = await player.beat(**kwargs)  # type: ignore[arg-type]
    if ack.face_check.due and ack.state == pb.SESSION_STATE_ACTIVE:
        await player.check(FACES[SAME_PERSON])
    return ack


class Ledger:
    """Reads learning's database directly, to prove the ledger refuses edits."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def execute(self, query: str, *args: object) -> str:
        conn = await asyncpg.connect(self.url)
        try:
            return await conn.execute(query, *args)
        finally:
            await conn.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def ledger_db(learning_database: str) -> Ledger:
    return Ledger(learning_database)
