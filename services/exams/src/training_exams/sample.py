"""The sample bank shipped with the service (work-safety basics, in Chinese, written for this
project) and a blueprint of the official format over it, for `make run`, tests and benchmarks."""

from __future__ import annotations

from importlib import resources

from training.exams.v1 import exams_pb2 as pb

SAMPLE_BANK = "work_safety_basics.json"
TOPICS = ("hazardous_chemicals", "fire", "electrical", "confined_space", "emergency")


def sample_bank() -> bytes:
    """The bank file: 110 questions over five topics (docs/exams.md describes the format)."""
    return resources.files("training_exams").joinpath("data", SAMPLE_BANK).read_bytes()


def section(kind: int, count: int, points: float, topic: str = "", difficulty: int = 0) -> pb.BlueprintSection:
    return pb.BlueprintSection(type=kind, topic=topic, difficulty=difficulty, count=count, points=points)


def official_blueprint() -> list[pb.BlueprintSection]:
    """100 points, 20 questions: per topic 2 single-choice (5 each), 1 multiple-choice (6), 1 true/false (4)."""
    return [
        s
        for topic in TOPICS
        for s in (
            section(pb.QUESTION_TYPE_SINGLE_CHOICE, 2, 5, topic),
            section(pb.QUESTION_TYPE_MULTIPLE_CHOICE, 1, 6, topic),
            section(pb.QUESTION_TYPE_TRUE_FALSE, 1, 4, topic),
        )
    ]
