"""Papers: a blueprint applied to a bank snapshot with a seed.

The same snapshot, blueprint and seed give the same paper on any machine and any Python version:
the random numbers come from SHAKE-256 of the seed (`SeededStream`), not from the `random` module,
whose algorithms may change between releases. An attempt records its seed, so a reviewer
reproduces the paper a trainee saw (PreviewPaper), and the paper never depends on the answer keys.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from training_exams.domain.bank import Difficulty, Question, QuestionType

MAX_SEED = 2**63 - 1


class SeededStream:
    """Deterministic uniform integers from a 63-bit seed: SHAKE-256 of the seed (an extendable-output
    function) read as big-endian 64-bit words. One digest call serves a whole paper."""

    _WORDS = 128  # words produced per digest call (a 20-question paper needs about 70)

    def __init__(self, seed: int) -> None:
        if not 0 < seed <= MAX_SEED:
            raise ValueError(f"a seed is 1 to {MAX_SEED}")
        self._seed = seed.to_bytes(8, "big")
        self._words: tuple[int, ...] = ()
        self._next = 0

    def _next64(self) -> int:
        if self._next == len(self._words):
            # A longer digest of the same seed begins with the shorter one: the stream only grows.
            count = len(self._words) + self._WORDS
            self._words = struct.unpack(f">{count}Q", hashlib.shake_256(self._seed).digest(8 * count))
        word = self._words[self._next]
        self._next += 1
        return word

    def below(self, n: int) -> int:
        """Uniform in [0, n) (rejection sampling, so no value is favoured)."""
        if n <= 0:
            raise ValueError("n must be positive")
        limit = (1 << 64) - (1 << 64) % n
        while True:
            value = self._next64()
            if value < limit:
                return value % n

    def shuffle(self, items: list[int]) -> None:
        """Fisher-Yates, in place."""
        for i in range(len(items) - 1, 0, -1):
            j = self.below(i + 1)
            items[i], items[j] = items[j], items[i]

    def sample(self, items: Sequence[int], k: int) -> list[int]:
        """`k` distinct items in random order (a partial Fisher-Yates on a copy)."""
        pool = list(items)
        for i in range(k):
            j = i + self.below(len(pool) - i)
            pool[i], pool[j] = pool[j], pool[i]
        return pool[:k]


@dataclass(frozen=True)
class Section:
    """`count` questions of `type` (and `topic`, `difficulty` when set), each worth `points` hundredths."""

    type: QuestionType
    topic: str | None
    difficulty: Difficulty | None
    count: int
    points: int

    def matches(self, question: Question) -> bool:
        return (
            question.type is self.type
            and (self.topic is None or question.topic == self.topic)
            and (self.difficulty is None or question.difficulty is self.difficulty)
        )

    def overlaps(self, other: Section) -> bool:
        """Whether some question could fall in both sections."""
        return (
            self.type is other.type
            and (self.topic is None or other.topic is None or self.topic == other.topic)
            and (self.difficulty is None or other.difficulty is None or self.difficulty is other.difficulty)
        )


@dataclass(frozen=True)
class Snapshot:
    """The questions of one bank version, immutable (cached by the service)."""

    version_id: str
    questions: tuple[Question, ...]
    by_key: dict[str, Question] = field(init=False, repr=False, compare=False)
    _pools: dict[tuple[object, ...], tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_key", {q.key: q for q in self.questions})
        object.__setattr__(self, "_pools", {})

    def pool(self, section: Section) -> tuple[str, ...]:
        """Keys of the questions a section draws from, in key order (independent of file order)."""
        selector = (section.type, section.topic, section.difficulty)
        found = self._pools.get(selector)
        if found is None:
            found = tuple(sorted(q.key for q in self.questions if section.matches(q)))
            self._pools[selector] = found
        return found

    def topics(self) -> list[str]:
        return sorted({q.topic for q in self.questions})


@dataclass(frozen=True)
class PaperItem:
    question: str
    # Displayed option i is the question's option order[i].
    order: tuple[int, ...]
    # Hundredths of a point.
    points: int


def assemble(snapshot: Snapshot, sections: Sequence[Section], seed: int) -> tuple[PaperItem, ...]:
    """The paper for `seed`: each section's questions drawn in turn, options shuffled (true/false kept in order)."""
    stream = SeededStream(seed)
    items: list[PaperItem] = []
    for section in sections:
        pool = snapshot.pool(section)
        if len(pool) < section.count:
            raise ValueError(f"section asks for {section.count} questions; the bank version has {len(pool)}")
        for index in stream.sample(range(len(pool)), section.count):
            question = snapshot.by_key[pool[index]]
            order = list(range(len(question.options)))
            if question.type is not QuestionType.TRUE_FALSE:
                stream.shuffle(order)
            items.append(PaperItem(question.key, tuple(order), section.points))
    return tuple(items)
