"""The training rulebook: versioned rules as data (see docs/rulebook.md).

rules = load_rulebook(settings.rulebook)        # "default", "demo" or a file path
version = rules.in_force(clock.now())           # the version a new class is opened under
version = rules.version(class_row.rulebook_version)
"""

from training_rulebook.loading import (
    CHINA_STANDARD_TIME,
    SHIPPED,
    RulebookError,
    RulebookSet,
    china_date,
    load_rulebook,
    parse_document,
)
from training_rulebook.schema import (
    DailyCap,
    ExamRules,
    FaceCheckRules,
    FaceOutcome,
    HeartbeatRules,
    KindHours,
    LessonQuizGate,
    Rulebook,
    RulebookDocument,
)

__all__ = [
    "CHINA_STANDARD_TIME",
    "SHIPPED",
    "DailyCap",
    "ExamRules",
    "FaceCheckRules",
    "FaceOutcome",
    "HeartbeatRules",
    "KindHours",
    "LessonQuizGate",
    "Rulebook",
    "RulebookDocument",
    "RulebookError",
    "RulebookSet",
    "china_date",
    "load_rulebook",
    "parse_document",
]
