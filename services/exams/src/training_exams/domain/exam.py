"""Exam definitions: the three kinds, their rules, and the check of a blueprint against a bank
version and the rulebook's exam format.

Points are kept in hundredths (integers), so sums and pass marks are exact.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from training_exams.domain.paper import Section, Snapshot
from training_rulebook import ExamRules
from training_runtime.errors import Validator

MAX_SECTIONS = 50
MAX_SECTION_COUNT = 200
MAX_QUESTIONS = 300
MAX_TIME_LIMIT_MINUTES = 600
MAX_POINTS_EACH = 100_00


class ExamKind(StrEnum):
    PRACTICE = "practice"
    MOCK = "mock"
    FINAL = "final"

    @property
    def official_format(self) -> bool:
        """Mock and final exams follow the rulebook's format (total points, pass mark, page leaves)."""
        return self is not ExamKind.PRACTICE


def face_check_by_default(kind: ExamKind) -> bool:
    """Mock and final exams check the trainee's face at start unless the definition turns it off."""
    return kind.official_format


def page_leave_limit(kind: ExamKind, rules: ExamRules) -> int:
    """Page leaves after which the server submits an attempt; 0 (never) for practice."""
    return rules.page_leave_limit if kind.official_format else 0


def pass_mark(kind: ExamKind, max_points: int, rules: ExamRules) -> int:
    """Points (hundredths) needed to pass: the rulebook's mark, in proportion for practice exams."""
    if kind.official_format:
        return rules.pass_mark * 100
    return math.ceil(max_points * rules.pass_mark / rules.total_points)


@dataclass(frozen=True)
class Limits:
    time_limit_minutes: int
    max_attempts: int


def check_limits(check: Validator, kind: ExamKind, limits: Limits, rules: ExamRules) -> None:
    if not 1 <= limits.time_limit_minutes <= MAX_TIME_LIMIT_MINUTES:
        check.add("time_limit_minutes", f"must be 1 to {MAX_TIME_LIMIT_MINUTES}")
    if kind is ExamKind.FINAL:
        if not 1 <= limits.max_attempts <= rules.max_final_attempts:
            check.add("max_attempts", f"a final exam allows 1 to {rules.max_final_attempts} attempts (rulebook)")
    elif limits.max_attempts != 0:
        check.add("max_attempts", f"must be 0: {kind.value} exams allow unlimited attempts")


def points_from(value: float) -> int | None:
    """Hundredths of a point, or None unless `value` is a positive multiple of 0.01."""
    hundredths = round(value * 100)
    if hundredths <= 0 or abs(value * 100 - hundredths) > 1e-6:
        return None
    return hundredths


def check_blueprint(
    check: Validator, kind: ExamKind, sections: Sequence[Section], snapshot: Snapshot, rules: ExamRules
) -> None:
    """Every section is satisfiable from `snapshot`, none overlaps another, and the official
    format's points add up to the rulebook's total."""
    if not sections:
        check.add("blueprint", "must have at least one section")
        return
    if len(sections) > MAX_SECTIONS:
        check.add("blueprint", f"has {len(sections)} sections; at most {MAX_SECTIONS}")
        return
    topics = set(snapshot.topics())
    before = len(check.violations)
    for i, section in enumerate(sections):
        at = f"blueprint[{i}]"
        if section.topic is not None and section.topic not in topics:
            check.add(
                f"{at}.topic", f"{section.topic!r} is not a topic of the bank version ({', '.join(sorted(topics))})"
            )
            continue
        if not 1 <= section.count <= MAX_SECTION_COUNT:
            check.add(f"{at}.count", f"must be 1 to {MAX_SECTION_COUNT}")
            continue
        if not 0 < section.points <= MAX_POINTS_EACH:
            check.add(f"{at}.points", f"must be a multiple of 0.01 above 0 and at most {MAX_POINTS_EACH // 100}")
            continue
        available = len(snapshot.pool(section))
        if available < section.count:
            difficulty = section.difficulty.value if section.difficulty else "any"
            check.add(
                f"{at}.count",
                f"asks for {section.count} {section.type.value} questions of topic {section.topic or 'any'} and "
                f"difficulty {difficulty}; the bank version has {available}",
            )
        for j in range(i):
            if section.overlaps(sections[j]):
                check.add(at, f"overlaps blueprint[{j}]: a question could be drawn by both; make them disjoint")
                break
    if len(check.violations) > before:
        return
    count = sum(s.count for s in sections)
    if count > MAX_QUESTIONS:
        check.add("blueprint", f"draws {count} questions; a paper has at most {MAX_QUESTIONS}")
    total = sum(s.count * s.points for s in sections)
    if kind.official_format and total != rules.total_points * 100:
        check.add(
            "blueprint",
            f"points add up to {total / 100:g}; {kind.value} exams have the official {rules.total_points} (rulebook)",
        )
