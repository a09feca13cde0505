"""The events catalogue: every event declares subject, trigger and key, and docs/events.md lists them all."""

from __future__ import annotations

from pathlib import Path

from training_events.catalogue import embed, problems, render, scan

ROOT = Path(__file__).resolve().parents[3]


def test_every_event_declares_a_valid_subject_trigger_and_key() -> None:
    events = scan(ROOT / "proto")
    assert events, "no events found under proto/"
    assert problems(events) == []


def test_docs_events_md_lists_exactly_the_declared_events() -> None:
    document = (ROOT / "docs" / "events.md").read_text()
    expected = embed(document, render(scan(ROOT / "proto")))
    assert document == expected, "docs/events.md is stale: run `make docs`"


def test_problems_are_found(tmp_path: Path) -> None:
    folder = tmp_path / "training" / "exams" / "v1"
    folder.mkdir(parents=True)
    (folder / "x.proto").write_text(
        "package training.exams.v1;\n"
        "// Subject: training.exams.attempt.graded\n// Emitted when: always.\n// Key: attempt_id.\nmessage A {\n}\n"
        "// Subject: training.courses.course.published.v1\nmessage B {\n}\n"
    )
    found = problems(scan(tmp_path))
    assert any("not training.<context>" in p for p in found)
    assert any("no 'Emitted when:'" in p for p in found)
    assert any("outside its context's folder" in p for p in found)
