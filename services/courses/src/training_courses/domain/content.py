"""What makes a syllabus, a course and a class's course set acceptable under the rulebook."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from training_rulebook import Rulebook
from training_runtime.errors import FailedPrecondition, Validator
from training_runtime.vocabulary import OPERATION_TYPES, QualificationType, TrainingKind

_CODE = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
MAX_LESSON_SECONDS = 4 * 3600
MAX_LESSONS = 200
MAX_TOPICS = 100


def check_text(check: Validator, value: str, field: str, *, minimum: int = 2, maximum: int = 100) -> str:
    value = value.strip()
    if not value:
        check.add(field, "is required")
    elif not minimum <= len(value) <= maximum:
        check.add(field, f"must be {minimum} to {maximum} characters")
    elif not value.isprintable():
        check.add(field, "must not contain control characters")
    return value


@dataclass(frozen=True)
class TopicDraft:
    code: str
    title: str
    required_hours: int


def check_syllabus(
    check: Validator,
    rules: Rulebook,
    *,
    qualification: QualificationType | None,
    operation_type: str,
    kind: TrainingKind | None,
    total_hours: int,
    topics: Sequence[TopicDraft],
) -> None:
    if qualification is None:
        check.add("qualification_type", "is required")
    if kind is None:
        check.add("training_kind", "is required")
    if qualification is QualificationType.SPECIAL_OPERATION:
        if operation_type not in OPERATION_TYPES:
            check.add("operation_type", "must name a special operation of the catalogue")
    elif operation_type:
        check.add("operation_type", "only special-operation syllabi have an operation type")
    if qualification is not None and kind is not None:
        required = rules.required(qualification, kind)
        if total_hours < required:
            check.add("total_hours", f"must be at least {required} (rulebook {rules.version})")
    elif total_hours <= 0:
        check.add("total_hours", "must be positive")
    if total_hours > 1000:
        check.add("total_hours", "must be at most 1000")
    if not topics:
        check.add("topics", "name at least one topic")
    if not check.within(topics, "topics", MAX_TOPICS):
        return
    codes = set()
    for i, t in enumerate(topics):
        if not _CODE.match(t.code):
            check.add(f"topics[{i}].code", "must be lower-case letters, digits and '-', starting with a letter")
        elif t.code in codes:
            check.add(f"topics[{i}].code", "appears twice")
        codes.add(t.code)
        check_text(check, t.title, f"topics[{i}].title")
        if not 1 <= t.required_hours <= 1000:
            check.add(f"topics[{i}].required_hours", "must be 1 to 1000")
    online = sum(t.required_hours for t in topics)
    if total_hours > 0 and online > rules.online_share_cap * total_hours + 1e-9:
        check.add(
            "topics",
            f"online hours ({online}) exceed {rules.online_share_cap:.0%} of the syllabus's {total_hours} hours "
            f"(online share cap, rulebook {rules.version})",
        )


@dataclass(frozen=True)
class LessonDraft:
    title: str
    duration_seconds: int
    media_ref: str


def check_lessons(
    check: Validator, rules: Rulebook, lessons: Sequence[LessonDraft], credited_hours: int, *, prefix: str = "course"
) -> None:
    if not 1 <= credited_hours <= 200:
        check.add(f"{prefix}.credited_hours", "must be 1 to 200")
    if not lessons:
        check.add(f"{prefix}.lessons", "name at least one lesson")
    if not check.within(lessons, f"{prefix}.lessons", MAX_LESSONS):
        return
    for i, lesson in enumerate(lessons):
        check_text(check, lesson.title, f"{prefix}.lessons[{i}].title")
        if not 1 <= lesson.duration_seconds <= MAX_LESSON_SECONDS:
            check.add(f"{prefix}.lessons[{i}].duration_seconds", f"must be 1 to {MAX_LESSON_SECONDS}")
        ref = lesson.media_ref.strip()
        if not ref.startswith(("https://", "media://")) or len(ref) > 500 or any(c.isspace() for c in ref):
            check.add(f"{prefix}.lessons[{i}].media_ref", "must be an https:// or media:// reference without spaces")
    playing = sum(max(0, lesson.duration_seconds) for lesson in lessons)
    needed = rules.hours_to_seconds(credited_hours)
    if 1 <= credited_hours <= 200 and lessons and playing < needed:
        check.add(
            f"{prefix}.lessons",
            f"last {playing} s in all, less than the {needed:.0f} s that {credited_hours} class hours take "
            f"(rulebook {rules.version})",
        )


@dataclass(frozen=True)
class CourseForClass:
    course_id: str
    topic_id: str
    credited_hours: int


@dataclass(frozen=True)
class TopicRequirement:
    topic_id: str
    code: str
    required_hours: int


def check_coverage(
    rules: Rulebook, total_hours: int, topics: Sequence[TopicRequirement], courses: Sequence[CourseForClass]
) -> None:
    """A class's courses must offer at least each topic's hours, and the online hours may not exceed
    the rulebook's share of the syllabus."""
    offered: dict[str, int] = {}
    for c in courses:
        offered[c.topic_id] = offered.get(c.topic_id, 0) + c.credited_hours
    short = [
        f"{t.code} ({offered.get(t.topic_id, 0)} of {t.required_hours} h)"
        for t in topics
        if offered.get(t.topic_id, 0) < t.required_hours
    ]
    if short:
        raise FailedPrecondition(
            "SYLLABUS_NOT_COVERED", "the courses do not cover every topic's hours: " + ", ".join(short)
        )
    online = sum(t.required_hours for t in topics)
    if online > rules.online_share_cap * total_hours + 1e-9:
        raise FailedPrecondition(
            "ONLINE_SHARE_EXCEEDED",
            f"online hours ({online}) exceed {rules.online_share_cap:.0%} of {total_hours} syllabus hours "
            f"under rulebook {rules.version}",
        )
