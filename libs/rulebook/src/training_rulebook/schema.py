"""The rulebook's schema: every rule the platform applies to training hours, exams and records.

A rulebook version is data with an effective date. Services never hard-code these values: they read
the version in force (or the version a training class was opened under) and record its id with
every decision it produced.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from training_runtime.vocabulary import QualificationType, TrainingKind

NATIONAL_MINIMUM_CLASS_HOUR_MINUTES = 30


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FaceOutcome(StrEnum):
    """Face-check outcomes as the rulebook names them (identity's FaceCheckOutcome, lower case)."""

    NO_MATCH = "no_match"
    NO_FACE = "no_face"
    MULTIPLE_FACES = "multiple_faces"
    FACE_TOO_SMALL = "face_too_small"


class FaceCheckRules(_Strict):
    """When the server asks for a face check during study, and what repeated failure means."""

    # A random check falls at most this long after the last passed check.
    max_interval_minutes: float = Field(gt=0, le=120)
    # ...and no sooner than this (checks every few seconds would make study impossible).
    min_interval_minutes: float = Field(gt=0, le=120)
    # Random checks each lesson study session gets at least (the draw fits them before its end).
    min_random_per_lesson: int = Field(ge=0, le=10)
    # How long the player has to answer a due check before it counts as missed.
    response_seconds: float = Field(gt=0, le=600)
    # Failed outcomes that count towards a proxy-learning (代学) anomaly.
    anomaly_outcomes: tuple[FaceOutcome, ...]
    # That many such failures within the window raise the anomaly and freeze the trainee's hours.
    anomaly_threshold: int = Field(ge=1, le=100)
    anomaly_window_hours: float = Field(gt=0, le=24 * 30)

    @model_validator(mode="after")
    def _ordered(self) -> FaceCheckRules:
        if self.min_interval_minutes > self.max_interval_minutes:
            raise ValueError("min_interval_minutes must not exceed max_interval_minutes")
        return self


class HeartbeatRules(_Strict):
    """What the player reports and how far its reports may stray from the server's clock."""

    interval_seconds: float = Field(gt=0, le=120)
    # Per interval, position and wall-clock time may differ by this many seconds...
    position_tolerance_seconds: float = Field(ge=0, le=30)
    # ...or by this share of the interval, whichever is larger (network jitter grows with the gap).
    position_tolerance_ratio: float = Field(ge=0, le=0.5)
    # The reported playback rate must lie within 1 ± this.
    rate_tolerance: float = Field(ge=0, le=0.25)
    # The player's clock may run ahead of where it stood at session start by at most this.
    client_clock_tolerance_seconds: float = Field(ge=0, le=300)
    # No heartbeat for this long stops the clock (挂机): the gap is not credited and study pauses.
    idle_timeout_seconds: float = Field(gt=0, le=3600)
    # A session silent this long is ended; time not yet bracketed by a passed face check is lost.
    abandon_after_minutes: float = Field(gt=0, le=24 * 60)
    # A topic counts as complete when its credited time falls short of the requirement by at most
    # this much: time is measured from the player's reported positions, and a video studied to its
    # end reports a position a few milliseconds before its nominal length.
    completion_tolerance_seconds: float = Field(default=1.0, ge=0, le=60)

    @model_validator(mode="after")
    def _ordered(self) -> HeartbeatRules:
        if self.idle_timeout_seconds <= self.interval_seconds:
            raise ValueError("idle_timeout_seconds must exceed interval_seconds")
        if self.abandon_after_minutes * 60 < self.idle_timeout_seconds:
            raise ValueError("abandon_after_minutes must not be shorter than idle_timeout_seconds")
        return self


class DailyCap(_Strict):
    """Optional cap on the hours one trainee is credited per local day (Asia/Shanghai)."""

    enabled: bool
    hours: float | None = Field(default=None, gt=0, le=24)

    @model_validator(mode="after")
    def _hours_when_enabled(self) -> DailyCap:
        if self.enabled and self.hours is None:
            raise ValueError("an enabled daily cap needs hours")
        return self


class LessonQuizGate(_Strict):
    """Optional end-of-lesson quiz that must be passed before the lesson's hours are credited."""

    enabled: bool


class ExamRules(_Strict):
    """The official exam format and the limits of platform exams (mock and class-final)."""

    total_points: int = Field(gt=0, le=1000)
    pass_mark: int = Field(gt=0)
    # A mock or final attempt is submitted by the server at this many page leaves.
    page_leave_limit: int = Field(ge=1, le=100)
    # A class-final exam allows at most this many attempts (the first plus resits).
    max_final_attempts: int = Field(ge=1, le=10)
    # Share of a multiple-choice question's points for some correct options and no wrong one;
    # 0 is all or nothing (多选、少选、错选均不得分), the official practice.
    multiple_choice_partial_credit: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _pass_within_total(self) -> ExamRules:
        if self.pass_mark > self.total_points:
            raise ValueError("pass_mark must not exceed total_points")
        return self


class KindHours(_Strict):
    """Required class hours of one qualification type, per training kind."""

    initial: int = Field(gt=0, le=1000)
    refresher: int = Field(gt=0, le=1000)

    def of(self, kind: TrainingKind) -> int:
        return self.initial if kind is TrainingKind.INITIAL else self.refresher


class Rulebook(_Strict):
    """One version of the rules, in force from `effective_from` (a date in China Standard Time)."""

    version: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{2,63}$")
    effective_from: date
    # "production" rulebooks must respect the national minimum of 30 minutes per class hour;
    # "demonstration" ones (the local demo, tests) may use minutes-long class hours.
    purpose: Literal["production", "demonstration"]
    description: str = ""
    # One online class hour is this many minutes of verified study.
    class_hour_minutes: float = Field(gt=0, le=60)
    # Online theory may cover at most this share of a syllabus's hours (AQ 8011-2023: 70%).
    online_share_cap: float = Field(gt=0, le=1)
    face_checks: FaceCheckRules
    heartbeats: HeartbeatRules
    daily_cap: DailyCap
    lesson_quiz_gate: LessonQuizGate
    required_hours: dict[QualificationType, KindHours]
    exam: ExamRules
    retention_years: dict[QualificationType, int]

    @field_validator("required_hours", "retention_years")
    @classmethod
    def _every_type(cls, value: dict) -> dict:  # type: ignore[type-arg]
        missing = sorted(q.value for q in QualificationType if q not in value)
        if missing:
            raise ValueError(f"must name every qualification type; missing {', '.join(missing)}")
        return value

    @model_validator(mode="after")
    def _production_minimum(self) -> Rulebook:
        if self.purpose == "production" and self.class_hour_minutes < NATIONAL_MINIMUM_CLASS_HOUR_MINUTES:
            raise ValueError(f"a production rulebook needs class_hour_minutes >= {NATIONAL_MINIMUM_CLASS_HOUR_MINUTES}")
        return self

    @property
    def class_hour_seconds(self) -> float:
        return self.class_hour_minutes * 60.0

    def hours_to_seconds(self, hours: float) -> float:
        return hours * self.class_hour_seconds

    def seconds_to_hours(self, seconds: float) -> float:
        return seconds / self.class_hour_seconds

    def topic_complete(self, credited_seconds: float, required_hours: float) -> bool:
        """Whether credited study meets a topic's required class hours (within the completion tolerance)."""
        return credited_seconds + self.heartbeats.completion_tolerance_seconds >= self.hours_to_seconds(required_hours)

    def required(self, qualification: QualificationType, kind: TrainingKind) -> int:
        return self.required_hours[qualification].of(kind)


class RulebookDocument(_Strict):
    """A file of the rulebook: a name and its versions, each with its effective date."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,31}$")
    versions: tuple[Rulebook, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct(self) -> RulebookDocument:
        ids = [v.version for v in self.versions]
        if len(set(ids)) != len(ids):
            raise ValueError("version ids must be unique")
        dates = [v.effective_from for v in self.versions]
        if len(set(dates)) != len(dates):
            raise ValueError("two versions take effect on the same date")
        return self
