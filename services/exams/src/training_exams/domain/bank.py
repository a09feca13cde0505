"""Question banks: the questions of one bank version, and the bank file format (docs/exams.md).

A bank file is UTF-8 JSON. `parse_bank` checks all of it and reports every problem at once, each
naming the row (`questions[12].answer`) and the question's id, so nothing is imported from a file
with errors. `render_bank` writes the same format back (export), answer keys included.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from training_runtime.errors import FieldViolation, InvalidArgument
from training_runtime.vocabulary import QualificationType

FORMAT = "training.exams.bank.v1"
MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_QUESTIONS = 20_000
MAX_STEM = 2000
MAX_OPTION = 500
LETTERS = "ABCDEFGH"
# Problems listed in one error; the status travels in gRPC trailers, which are small.
MAX_REPORTED = 25
TRUE_FALSE_OPTIONS = ("正确", "错误")

_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,63}$")
_QUESTION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_TOP_FIELDS = {"format", "code", "title", "qualification_types", "topics", "questions"}
_QUESTION_FIELDS = {"id", "topic", "type", "difficulty", "stem", "options", "answer"}


class QuestionType(StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"
    TRUE_FALSE = "true_false"


class Difficulty(StrEnum):
    EASY = "easy"
    MEDIUM = "medium"
    HARD = "hard"


@dataclass(frozen=True)
class Topic:
    code: str
    title: str


@dataclass(frozen=True)
class Question:
    # The file's id: stable across versions of the bank.
    key: str
    topic: str
    type: QuestionType
    difficulty: Difficulty
    stem: str
    options: tuple[str, ...]
    # The answer key: indices into `options`. Never leaves the server except in an export.
    answer: frozenset[int]


@dataclass(frozen=True)
class BankDocument:
    code: str
    title: str
    qualification_types: tuple[QualificationType, ...]
    topics: tuple[Topic, ...]
    questions: tuple[Question, ...]


class _Problems:
    def __init__(self) -> None:
        self.items: list[FieldViolation] = []

    def add(self, field: str, description: str) -> None:
        self.items.append(FieldViolation(field, description))

    def raise_if_any(self) -> None:
        if not self.items:
            return
        shown = self.items[:MAX_REPORTED]
        if len(self.items) > MAX_REPORTED:
            hidden = len(self.items) - MAX_REPORTED
            shown.append(FieldViolation("content", f"{hidden} more problems not listed; fix these and import again"))
        raise InvalidArgument(shown, reason="BANK_FILE_INVALID")


def _text(value: object, *, limit: int) -> str | None:
    """The stripped string, or None if `value` is not a non-empty string within `limit` characters."""
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > limit:
        return None
    return value.strip()


def _header(raw: Mapping[str, Any], problems: _Problems) -> tuple[str, str, list[QualificationType], list[Topic]]:
    for unknown in sorted(set(raw) - _TOP_FIELDS):
        problems.add(unknown, f"is not a field of the bank format (expected {', '.join(sorted(_TOP_FIELDS))})")
    if raw.get("format") != FORMAT:
        problems.add("format", f'must be "{FORMAT}"')
    code = raw.get("code")
    if not isinstance(code, str) or not _CODE.match(code):
        problems.add("code", "must be 2 to 64 characters: lower-case letters, digits, - and _")
    title = _text(raw.get("title"), limit=200)
    if title is None:
        problems.add("title", "must be a non-empty string of at most 200 characters")
    qualifications: list[QualificationType] = []
    values = raw.get("qualification_types")
    if not isinstance(values, list) or not values:
        problems.add(
            "qualification_types", f"must list at least one of {', '.join(q.value for q in QualificationType)}"
        )
    else:
        for i, value in enumerate(values):
            try:
                qualification = QualificationType(value)
            except ValueError:
                problems.add(f"qualification_types[{i}]", f"{value!r} is not a qualification type")
                continue
            if qualification in qualifications:
                problems.add(f"qualification_types[{i}]", f"{value!r} appears twice")
            qualifications.append(qualification)
    topics: list[Topic] = []
    declared = raw.get("topics")
    if not isinstance(declared, list) or not declared:
        problems.add("topics", 'must list the bank\'s topics as {"code": ..., "title": ...}')
    else:
        for i, item in enumerate(declared):
            topic_code = item.get("code") if isinstance(item, dict) else None
            topic_title = _text(item.get("title"), limit=200) if isinstance(item, dict) else None
            if not isinstance(topic_code, str) or not _CODE.match(topic_code):
                problems.add(f"topics[{i}].code", "must be 2 to 64 characters: lower-case letters, digits, - and _")
                continue
            if topic_title is None:
                problems.add(f"topics[{i}].title", "must be a non-empty string of at most 200 characters")
                continue
            if any(t.code == topic_code for t in topics):
                problems.add(f"topics[{i}].code", f"{topic_code!r} appears twice")
                continue
            topics.append(Topic(topic_code, topic_title))
    return code if isinstance(code, str) else "", title or "", qualifications, topics


def _answer(kind: QuestionType, value: object, option_count: int) -> frozenset[int] | str:
    """The answer key as option indices, or a description of what is wrong with it."""
    if kind is QuestionType.TRUE_FALSE:
        if not isinstance(value, bool):
            return "must be true or false for a true_false question"
        return frozenset({0 if value else 1})
    letters = LETTERS[:option_count]
    if not isinstance(value, str) or not value:
        return f"must be option letters ({letters[0]}-{letters[-1]})"
    if any(ch not in letters for ch in value):
        return f"{value!r} names an option that does not exist (options {letters[0]}-{letters[-1]})"
    if len(set(value)) != len(value):
        return f"{value!r} names an option twice"
    if kind is QuestionType.SINGLE and len(value) != 1:
        return f"{value!r}: a single-choice question has exactly one correct option"
    if kind is QuestionType.MULTIPLE and len(value) < 2:
        return f"{value!r}: a multiple-choice question has at least two correct options"
    return frozenset(letters.index(ch) for ch in value)


def _options(
    at: str, name: str, kind: QuestionType, raw: Mapping[str, Any], problems: _Problems
) -> tuple[str, ...] | None:
    """The question's options (fixed for true_false), or None after reporting what is wrong."""
    if kind is QuestionType.TRUE_FALSE:
        if "options" in raw:
            problems.add(f"{at}.options", f"{name}: a true_false question has no options (they are 正确 and 错误)")
        return TRUE_FALSE_OPTIONS
    fewest = 2 if kind is QuestionType.SINGLE else 3
    given = raw.get("options")
    if not isinstance(given, list) or not fewest <= len(given) <= len(LETTERS):
        problems.add(f"{at}.options", f"{name}: a {kind.value} question has {fewest} to {len(LETTERS)} options")
        return None
    texts = [_text(o, limit=MAX_OPTION) for o in given]
    for n, text in enumerate(texts):
        if text is None:
            problems.add(f"{at}.options[{n}]", f"{name}: must be a non-empty string of at most {MAX_OPTION} characters")
            return None
    if len(set(texts)) != len(texts):
        problems.add(f"{at}.options", f"{name}: two options have the same text")
        return None
    return tuple(t for t in texts if t is not None)


def _question(
    i: int,
    raw: object,
    topic_codes: set[str],
    problems: _Problems,
    seen: dict[str, int],
    stems: dict[tuple[str, str], int],
) -> Question | None:
    at = f"questions[{i}]"
    if not isinstance(raw, dict):
        problems.add(at, "must be an object")
        return None
    key = raw.get("id")
    if not isinstance(key, str) or not _QUESTION_ID.match(key):
        problems.add(f"{at}.id", "must be 1 to 64 characters: letters, digits, '.', '-' and '_'")
        return None
    name = f"question {key}"
    before = len(problems.items)
    if key in seen:
        problems.add(f"{at}.id", f"{name}: the id is already used by questions[{seen[key]}]")
    else:
        seen[key] = i
    for unknown in sorted(set(raw) - _QUESTION_FIELDS):
        problems.add(f"{at}.{unknown}", f"{name}: not a field of a question ({', '.join(sorted(_QUESTION_FIELDS))})")
    topic = raw.get("topic")
    if not isinstance(topic, str) or topic not in topic_codes:
        problems.add(f"{at}.topic", f"{name}: {topic!r} is not one of the declared topics")
    try:
        kind = QuestionType(raw.get("type"))
    except ValueError:
        problems.add(f"{at}.type", f"{name}: must be one of {', '.join(t.value for t in QuestionType)}")
        return None
    try:
        difficulty = Difficulty(raw.get("difficulty"))
    except ValueError:
        problems.add(f"{at}.difficulty", f"{name}: must be one of {', '.join(d.value for d in Difficulty)}")
        difficulty = Difficulty.EASY
    stem = _text(raw.get("stem"), limit=MAX_STEM)
    if stem is None:
        problems.add(f"{at}.stem", f"{name}: must be a non-empty string of at most {MAX_STEM} characters")
    elif (str(topic), stem) in stems:
        problems.add(f"{at}.stem", f"{name}: the same stem as questions[{stems[(str(topic), stem)]}] of this topic")
    else:
        stems[(str(topic), stem)] = i
    options = _options(at, name, kind, raw, problems)
    if options is None:
        return None
    answer = _answer(kind, raw.get("answer"), len(options))
    if isinstance(answer, str):
        problems.add(f"{at}.answer", f"{name}: {answer}")
        return None
    if len(problems.items) > before or stem is None:
        return None
    return Question(key, str(topic), kind, difficulty, stem, options, answer)


def parse_bank(content: bytes) -> BankDocument:
    """The bank in `content`, or InvalidArgument (reason BANK_FILE_INVALID) naming every bad row."""
    if len(content) > MAX_FILE_BYTES:
        raise InvalidArgument("content", f"is {len(content)} bytes; a bank file is at most {MAX_FILE_BYTES}")
    try:
        raw = json.loads(content.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InvalidArgument("content", f"is not UTF-8 (byte {exc.start})", reason="BANK_FILE_INVALID") from None
    except json.JSONDecodeError as exc:
        raise InvalidArgument(
            "content", f"is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", reason="BANK_FILE_INVALID"
        ) from None
    if not isinstance(raw, dict):
        raise InvalidArgument("content", "must be a JSON object (docs/exams.md)", reason="BANK_FILE_INVALID")
    problems = _Problems()
    code, title, qualifications, topics = _header(raw, problems)
    rows = raw.get("questions")
    questions: list[Question] = []
    if not isinstance(rows, list) or not rows:
        problems.add("questions", "must list at least one question")
    elif len(rows) > MAX_QUESTIONS:
        problems.add("questions", f"holds {len(rows)} questions; a bank file holds at most {MAX_QUESTIONS}")
    else:
        codes = {t.code for t in topics}
        seen: dict[str, int] = {}
        stems: dict[tuple[str, str], int] = {}
        for i, row in enumerate(rows):
            question = _question(i, row, codes, problems, seen, stems)
            if question is not None:
                questions.append(question)
        if not problems.items:
            used = {q.topic for q in questions}
            for i, topic in enumerate(topics):
                if topic.code not in used:
                    problems.add(f"topics[{i}]", f"topic {topic.code!r} has no questions")
    problems.raise_if_any()
    return BankDocument(code, title, tuple(qualifications), tuple(topics), tuple(questions))


def render_bank(document: BankDocument) -> bytes:
    """The bank file for `document` (answer keys included): what `parse_bank` reads back."""
    rows: list[dict[str, Any]] = []
    for q in document.questions:
        row: dict[str, Any] = {
            "id": q.key,
            "topic": q.topic,
            "type": q.type.value,
            "difficulty": q.difficulty.value,
            "stem": q.stem,
        }
        if q.type is QuestionType.TRUE_FALSE:
            row["answer"] = 0 in q.answer
        else:
            row["options"] = list(q.options)
            row["answer"] = "".join(LETTERS[i] for i in sorted(q.answer))
        rows.append(row)
    body = {
        "format": FORMAT,
        "code": document.code,
        "title": document.title,
        "qualification_types": [q.value for q in document.qualification_types],
        "topics": [{"code": t.code, "title": t.title} for t in document.topics],
        "questions": rows,
    }
    return (json.dumps(body, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
