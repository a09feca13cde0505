"""The rulebook: shipped documents load, versions are chosen by effective date in China time, and a
document that breaks the schema is refused with every problem named."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest

from training_rulebook import RulebookError, load_rulebook, parse_document
from training_rulebook.testing import suite_document
from training_runtime.vocabulary import QualificationType, TrainingKind


def test_the_shipped_documents_carry_the_domains_defaults() -> None:
    default = load_rulebook("default").in_force(datetime(2026, 3, 2, tzinfo=UTC))
    assert default.class_hour_minutes == 45
    assert default.online_share_cap == 0.7
    assert default.face_checks.max_interval_minutes == 15
    assert default.heartbeats.interval_seconds == 10
    assert not default.daily_cap.enabled
    assert not default.lesson_quiz_gate.enabled
    assert default.required(QualificationType.PRINCIPAL_HIGH_RISK, TrainingKind.INITIAL) == 48
    assert default.required(QualificationType.SPECIAL_OPERATION, TrainingKind.REFRESHER) == 8
    assert (default.exam.total_points, default.exam.pass_mark) == (100, 80)
    assert default.retention_years[QualificationType.SPECIAL_OPERATION] == 6
    demo = load_rulebook("demo").in_force(datetime(2026, 3, 2, tzinfo=UTC))
    assert demo.class_hour_seconds == 60
    assert demo.purpose == "demonstration"


def test_the_version_in_force_is_chosen_by_the_date_in_china() -> None:
    rules = parse_document(json.dumps(suite_document()), "suite")
    # 2030-12-31 16:30 UTC is already 2031-01-01 in China, when the capped version takes effect.
    assert rules.in_force(datetime(2030, 12, 31, 15, 30, tzinfo=UTC)).version == "test-2026"
    assert rules.in_force(datetime(2030, 12, 31, 16, 30, tzinfo=UTC)).version == "test-capped-2031"
    with pytest.raises(RulebookError, match="no version in force"):
        rules.in_force(datetime(2025, 6, 1, tzinfo=UTC))
    assert rules.version("test-2026").daily_cap.enabled is False
    with pytest.raises(RulebookError, match="no version 'nope'"):
        rules.version("nope")


def test_a_broken_document_is_refused_with_every_problem_named() -> None:
    document = copy.deepcopy(suite_document())
    version = document["versions"][0]
    version["purpose"] = "production"  # one-minute class hours are below the national minimum
    version["face_checks"]["min_interval_minutes"] = 5  # above the maximum of 1.5
    del version["required_hours"]["special_operation"]
    with pytest.raises(RulebookError) as refused:
        parse_document(json.dumps(document), "broken.json")
    message = str(refused.value)
    assert "broken.json" in message
    assert "required_hours" in message
    assert "min_interval_minutes must not exceed max_interval_minutes" in message


def test_a_path_that_is_neither_shipped_nor_a_file_is_refused(tmp_path) -> None:
    with pytest.raises(RulebookError, match="neither"):
        load_rulebook(str(tmp_path / "missing.json"))
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(RulebookError, match="not JSON"):
        load_rulebook(str(tmp_path / "bad.json"))


def test_a_topic_is_complete_within_the_completion_tolerance_and_not_beyond() -> None:
    rules = load_rulebook("default").in_force(datetime(2026, 3, 2, tzinfo=UTC))
    required = rules.hours_to_seconds(2)
    assert rules.heartbeats.completion_tolerance_seconds == 1.0
    assert rules.topic_complete(required, 2)
    assert rules.topic_complete(required - 0.5, 2)  # a video ends a few ms before its nominal length
    assert not rules.topic_complete(required - 2, 2)
    assert rules.topic_complete(required + 100, 2)
