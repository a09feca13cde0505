"""Papers and grading as pure rules: a paper follows its blueprint, a seed reproduces it (on any
machine: the generator is pinned), the answer keys play no part in it, options are shuffled, and
each question type is graded as the rulebook says."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import replace

import pytest

from training_exams.domain.bank import Difficulty, QuestionType, parse_bank
from training_exams.domain.exam import ExamKind, check_blueprint, pass_mark
from training_exams.domain.grading import Verdict, grade, judge, selection_problem
from training_exams.domain.paper import Section, SeededStream, Snapshot, assemble
from training_exams.sample import TOPICS, sample_bank
from training_rulebook import load_rulebook
from training_runtime.errors import Validator

RULES = load_rulebook("default").versions[-1].exam
SNAPSHOT = Snapshot("sample", parse_bank(sample_bank()).questions)
S, M, T = QuestionType.SINGLE, QuestionType.MULTIPLE, QuestionType.TRUE_FALSE
OFFICIAL = [
    section
    for topic in TOPICS
    for section in (Section(S, topic, None, 2, 500), Section(M, topic, None, 1, 600), Section(T, topic, None, 1, 400))
]


def test_the_seeded_generator_reads_shake256_of_the_seed() -> None:
    stream = SeededStream(42)
    words = [stream.below(2**64) for _ in range(300)]  # beyond one digest call's words
    digest = hashlib.shake_256((42).to_bytes(8, "big")).digest(8 * 300)

    assert words == [int.from_bytes(digest[i : i + 8], "big") for i in range(0, len(digest), 8)]


def test_the_paper_follows_the_blueprint() -> None:
    blueprint = [Section(S, "fire", Difficulty.EASY, 3, 200), Section(M, None, Difficulty.HARD, 4, 300)]
    paper = assemble(SNAPSHOT, blueprint, seed=7)

    assert len(paper) == 7
    assert len({item.question for item in paper}) == 7
    drawn = [SNAPSHOT.by_key[item.question] for item in paper]
    assert all(q.type is S and q.topic == "fire" and q.difficulty is Difficulty.EASY for q in drawn[:3])
    assert all(q.type is M and q.difficulty is Difficulty.HARD for q in drawn[3:])
    assert [item.points for item in paper] == [200] * 3 + [300] * 4


def test_the_same_seed_gives_the_same_paper_and_other_seeds_other_papers() -> None:
    first = assemble(SNAPSHOT, OFFICIAL, seed=123456789)

    assert assemble(SNAPSHOT, OFFICIAL, seed=123456789) == first
    others = {assemble(SNAPSHOT, OFFICIAL, seed=seed) for seed in range(1, 21)}
    assert len(others) == 20


def test_the_paper_does_not_depend_on_the_answer_keys() -> None:
    rekeyed = Snapshot(
        "rekeyed",
        tuple(replace(q, answer=frozenset({len(q.options) - 1 - i for i in q.answer})) for q in SNAPSHOT.questions),
    )

    for seed in (1, 99, 2**40):
        assert assemble(rekeyed, OFFICIAL, seed) == assemble(SNAPSHOT, OFFICIAL, seed)


def test_options_are_shuffled_except_true_false() -> None:
    shown_first: Counter[int] = Counter()
    for seed in range(1, 201):
        for item in assemble(SNAPSHOT, OFFICIAL, seed):
            question = SNAPSHOT.by_key[item.question]
            if question.type is T:
                assert item.order == (0, 1)
            elif question.type is S:
                assert sorted(item.order) == list(range(len(question.options)))
                shown_first[item.order[0]] += 1
    # Every bank option lands first about as often (2,000 single-choice questions over 4 options).
    assert set(shown_first) == {0, 1, 2, 3}
    assert min(shown_first.values()) > 400


def _paper_with(kind: QuestionType) -> tuple:  # type: ignore[type-arg]
    """A one-question paper of `kind` whose question has a wrong option, with right and wrong selections."""
    for seed in range(1, 100):
        paper = assemble(SNAPSHOT, [Section(kind, "fire", None, 1, 1000)], seed=seed)
        question = SNAPSHOT.by_key[paper[0].question]
        displayed = {original: shown for shown, original in enumerate(paper[0].order)}
        right = sorted(displayed[i] for i in question.answer)
        wrong = [displayed[i] for i in range(len(question.options)) if i not in question.answer]
        if wrong:
            return paper, right, wrong
    raise AssertionError(f"no {kind} question of topic fire has a wrong option")


@pytest.mark.parametrize("kind", [S, T])
def test_single_choice_and_true_false_score_all_or_nothing(kind: QuestionType) -> None:
    paper, right, wrong = _paper_with(kind)

    def score(selected: list[int]) -> int:
        return grade(paper, SNAPSHOT, {0: selected}, partial_credit=0.5, pass_mark=1000).score

    assert score(right) == 1000
    assert score(wrong[:1]) == 0
    assert score([]) == 0


def test_multiple_choice_scores_the_exact_set_and_the_rulebook_share_of_a_correct_subset() -> None:
    paper, right, wrong = _paper_with(M)
    question = SNAPSHOT.by_key[paper[0].question]

    def score(selected: list[int], share: float) -> int:
        return grade(paper, SNAPSHOT, {0: selected}, partial_credit=share, pass_mark=1000).score

    assert score(right, 0) == 1000
    assert score(right[:1], 0) == 0  # 少选不得分 (the default rulebook)
    assert score(right[:1], 0.5) == 500
    assert score(right[:1] + wrong[:1], 0.5) == 0  # 错选不得分
    assert judge(question, paper[0].order, right[:1]) is Verdict.PARTIAL
    assert judge(question, paper[0].order, []) is Verdict.UNANSWERED


def test_a_score_at_the_pass_mark_passes_and_topics_are_scored_separately() -> None:
    paper = assemble(SNAPSHOT, OFFICIAL, seed=11)
    answers = {}
    for position, item in enumerate(paper):
        question = SNAPSHOT.by_key[item.question]
        displayed = {original: shown for shown, original in enumerate(item.order)}
        if question.topic != "fire":
            answers[position] = sorted(displayed[i] for i in question.answer)

    result = grade(paper, SNAPSHOT, answers, partial_credit=0, pass_mark=pass_mark(ExamKind.MOCK, 10000, RULES))

    assert (result.score, result.max_points, result.pass_mark, result.passed) == (8000, 10000, 8000, True)
    assert {t.topic: (t.points, t.max_points) for t in result.topics} == {
        topic: (0 if topic == "fire" else 2000, 2000) for topic in TOPICS
    }
    below = grade(paper, SNAPSHOT, answers, partial_credit=0, pass_mark=8001)
    assert not below.passed


def test_a_selection_must_fit_its_question() -> None:
    single = next(q for q in SNAPSHOT.questions if q.type is S)
    multiple = next(q for q in SNAPSHOT.questions if q.type is M)

    assert selection_problem(single, [0, 1]) is not None
    assert selection_problem(single, [4]) is not None
    assert selection_problem(multiple, [1, 1]) is not None
    assert selection_problem(multiple, [0, 2]) is None
    assert selection_problem(single, []) is None  # clears the answer


def blueprint_problems(kind: ExamKind, sections: list[Section]) -> dict[str, str]:
    check = Validator()
    check_blueprint(check, kind, sections, SNAPSHOT, RULES)
    return {v.field: v.description for v in check.violations}


def test_official_exams_need_the_rulebook_total_and_practice_exams_do_not() -> None:
    short = OFFICIAL[:-1]

    assert blueprint_problems(ExamKind.MOCK, OFFICIAL) == {}
    assert "add up to 96" in blueprint_problems(ExamKind.FINAL, short)["blueprint"]
    assert blueprint_problems(ExamKind.PRACTICE, short) == {}


def test_a_blueprint_must_be_satisfiable_and_its_sections_disjoint() -> None:
    found = blueprint_problems(
        ExamKind.PRACTICE,
        [
            Section(S, "fire", None, 11, 100),
            Section(S, "fire", Difficulty.EASY, 1, 100),
            Section(T, "cooking", None, 1, 100),
        ],
    )

    assert "the bank version has 10" in found["blueprint[0].count"]
    assert "overlaps blueprint[0]" in found["blueprint[1]"]
    assert "not a topic" in found["blueprint[2].topic"]
