"""The bank file format: the shipped sample bank is valid and substantial, every kind of bad row is
reported with its field and the question's id, all problems of a file come back at once, and an
export reads back as the same bank."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from training_exams.domain.bank import MAX_REPORTED, Difficulty, QuestionType, parse_bank, render_bank
from training_exams.sample import TOPICS, sample_bank
from training_runtime.errors import InvalidArgument


def bank(**changes: object) -> dict:
    document = json.loads(sample_bank())
    document.update(changes)
    return document


def problems(document: dict) -> dict[str, str]:
    with pytest.raises(InvalidArgument) as caught:
        parse_bank(json.dumps(document, ensure_ascii=False).encode())
    assert caught.value.reason == "BANK_FILE_INVALID"
    return {v.field: v.description for v in caught.value.violations}


def test_sample_bank_holds_over_a_hundred_questions_on_five_topics_of_every_type() -> None:
    document = parse_bank(sample_bank())

    assert len(document.questions) >= 100
    assert [t.code for t in document.topics] == list(TOPICS)
    by_topic = Counter((q.topic, q.type) for q in document.questions)
    for topic in TOPICS:
        assert by_topic[(topic, QuestionType.SINGLE)] >= 10
        assert by_topic[(topic, QuestionType.MULTIPLE)] >= 5
        assert by_topic[(topic, QuestionType.TRUE_FALSE)] >= 5
    assert {q.difficulty for q in document.questions} == set(Difficulty)
    # The correct option is not always in the same place in the file.
    assert len({min(q.answer) for q in document.questions if q.type is QuestionType.SINGLE}) == 4


@pytest.mark.parametrize(
    ("row_change", "field", "words"),
    [
        ({"answer": "E"}, "answer", "does not exist"),
        ({"answer": "AB"}, "answer", "exactly one correct option"),
        ({"answer": ""}, "answer", "option letters"),
        ({"type": "essay"}, "type", "must be one of"),
        ({"difficulty": "extreme"}, "difficulty", "must be one of"),
        ({"topic": "cooking"}, "topic", "not one of the declared topics"),
        ({"stem": "  "}, "stem", "non-empty"),
        ({"options": ["只有一个选项"]}, "options", "2 to 8 options"),
        ({"options": ["甲", "甲", "乙", "丙"]}, "options", "same text"),
        ({"answers": "A"}, "answers", "not a field of a question"),
    ],
)
def test_each_bad_row_is_named_with_its_field_and_question_id(row_change: dict, field: str, words: str) -> None:
    document = bank()
    index = next(i for i, q in enumerate(document["questions"]) if q["type"] == "single")
    document["questions"][index].update(row_change)
    found = problems(document)

    description = found[f"questions[{index}].{field}"]
    assert words in description
    assert document["questions"][index]["id"] in description


def test_true_false_and_multiple_choice_rows_have_their_own_rules() -> None:
    document = bank()
    rows = document["questions"]
    tf = next(i for i, q in enumerate(rows) if q["type"] == "true_false")
    multiple = next(i for i, q in enumerate(rows) if q["type"] == "multiple")
    rows[tf]["answer"] = "A"
    rows[multiple]["answer"] = "B"

    found = problems(document)

    assert "true or false" in found[f"questions[{tf}].answer"]
    assert "at least two correct options" in found[f"questions[{multiple}].answer"]


def test_every_problem_of_a_file_is_reported_together() -> None:
    document = bank(format="something/else", qualification_types=["astronaut"])
    document["questions"][3]["id"] = document["questions"][2]["id"]
    document["questions"][7]["stem"] = document["questions"][6]["stem"]

    found = problems(document)

    assert set(found) >= {"format", "qualification_types[0]", "questions[3].id", "questions[7].stem"}
    assert "already used by questions[2]" in found["questions[3].id"]


def test_a_file_with_very_many_bad_rows_lists_the_first_and_counts_the_rest() -> None:
    document = bank()
    for row in document["questions"]:
        row["difficulty"] = "unknown"

    found = problems(document)

    assert len(found) == MAX_REPORTED + 1
    assert found["content"].startswith(f"{len(document['questions']) - MAX_REPORTED} more problems")


@pytest.mark.parametrize(
    ("content", "words"),
    [(b"\xff\xfe", "not UTF-8"), (b'{"format": ', "not JSON"), (b"[1, 2]", "JSON object")],
)
def test_a_file_that_is_not_a_bank_is_refused_whole(content: bytes, words: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_bank(content)
    assert caught.value.violations[0].field == "content"
    assert words in caught.value.violations[0].description


def test_an_export_reads_back_as_the_same_bank() -> None:
    original = parse_bank(sample_bank())

    assert parse_bank(render_bank(original)) == original
