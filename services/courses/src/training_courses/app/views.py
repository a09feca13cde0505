"""What the application layer returns: plain records the API layer turns into protobuf."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from training_courses.domain.review import CourseStatus
from training_runtime.vocabulary import QualificationType, TrainingKind


@dataclass(frozen=True)
class TopicView:
    topic_id: str
    code: str
    title: str
    required_hours: int


@dataclass(frozen=True)
class SyllabusView:
    syllabus_id: str
    title: str
    qualification_type: QualificationType
    operation_type: str
    training_kind: TrainingKind
    total_hours: int
    topics: list[TopicView]
    rulebook_version: str
    created_at: datetime


@dataclass(frozen=True)
class LessonView:
    lesson_id: str
    title: str
    duration_seconds: int
    media_ref: str
    position: int


@dataclass(frozen=True)
class CourseView:
    course_id: str
    institution_id: str
    region_code: str
    title: str
    syllabus_id: str
    topic_id: str
    qualification_type: QualificationType
    credited_hours: int
    teacher_id: str
    lessons: list[LessonView]
    version: int
    status: CourseStatus
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class DecisionView:
    decision_id: str
    course_id: str
    version: int
    status: CourseStatus
    actor_id: str
    actor_role: str
    comment: str
    decided_at: datetime


@dataclass(frozen=True)
class ClassView:
    class_id: str
    institution_id: str
    region_code: str
    title: str
    syllabus_id: str
    qualification_type: QualificationType
    operation_type: str
    training_kind: TrainingKind
    course_ids: list[str]
    rulebook_version: str
    opened_at: datetime
    enrolled_count: int


@dataclass(frozen=True)
class EnrollmentView:
    enrollment_id: str
    class_id: str
    trainee_id: str
    institution_id: str
    region_code: str
    enrolled_at: datetime
    enrolled_by: str


@dataclass(frozen=True)
class QualityView:
    scope: str
    subject_id: str
    ratings: int
    mean_course_rating: float
    mean_teacher_rating: float
    trainees: int
    completion_rate: float
    hours_per_trainee: float
    anomaly_rate: float


T = TypeVar("T")


@dataclass(frozen=True)
class ListPage(Generic[T]):
    items: list[T] = field(default_factory=list)
    next_page_token: str = ""
