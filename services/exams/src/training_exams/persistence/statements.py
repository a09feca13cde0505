"""The statements a mass start runs thousands of times, built once with bind parameters.

Building a SQLAlchemy statement costs more than executing it on a warm connection; these are
compiled once (SQLAlchemy's cache) and executed with a parameter dict.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import DateTime, Uuid, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import JSONB

from training_exams.persistence.tables import attempt_answers, attempts, enrollments

IN_PROGRESS, GRADED = "in_progress", "graded"
TZ = DateTime(timezone=True)

_mine = (attempts.c.exam_id == bindparam("exam_id", type_=Uuid)) & (
    attempts.c.trainee_id == bindparam("trainee_id", type_=Uuid)
)

# The trainee's enrollment in the exam's class, its attempt in progress and how many it has taken.
ELIGIBILITY = (
    select(
        enrollments.c.id,
        enrollments.c.completed_at,
        enrollments.c.employer_credit_code,
        select(attempts.c.id).where(_mine, attempts.c.status == IN_PROGRESS).scalar_subquery().label("open_id"),
        select(func.count()).select_from(attempts).where(_mine).scalar_subquery().label("taken"),
    )
    .where(
        enrollments.c.class_id == bindparam("class_id", type_=Uuid),
        enrollments.c.trainee_id == bindparam("trainee_id", type_=Uuid),
    )
    .limit(1)
)

# The same for a batch of starts: item n's row, with a null enrollment id when there is none.
ELIGIBILITY_MANY = text(
    """
    SELECT k.n, e.id, e.completed_at, e.employer_credit_code,
        (SELECT a.id FROM attempts a
         WHERE a.exam_id = k.exam_id AND a.trainee_id = k.trainee_id AND a.status = 'in_progress') AS open_id,
        (SELECT count(*) FROM attempts a WHERE a.exam_id = k.exam_id AND a.trainee_id = k.trainee_id) AS taken
    FROM unnest(
        CAST(:ns AS int[]), CAST(:exam_ids AS uuid[]), CAST(:trainee_ids AS uuid[]), CAST(:class_ids AS uuid[])
    ) AS k(n, exam_id, trainee_id, class_id)
    LEFT JOIN LATERAL (
        SELECT id, completed_at, employer_credit_code FROM enrollments
        WHERE class_id = k.class_id AND trainee_id = k.trainee_id LIMIT 1
    ) e ON true
    """
)

# New attempts, one array per column (`attempt_arrays`): one statement text whatever the batch size.
# Nothing comes back for a start that another start of the same trainee and exam beat (a unique
# index). The paper (given as JSON text) is not read back: the caller has it.
_NEW_ATTEMPT = [
    "id",
    "exam_id",
    "class_id",
    "enrollment_id",
    "trainee_id",
    "institution_id",
    "region_code",
    "employer_credit_code",
    "kind",
    "number",
    "status",
    "seed",
    "paper",
    "bank_version_id",
    "started_at",
    "deadline",
    "start_face_check_id",
    "page_leaves",
    "max_points",
    "pass_mark",
]
INSERT_ATTEMPTS = text(
    """
    INSERT INTO attempts (id, exam_id, class_id, enrollment_id, trainee_id, institution_id, region_code,
        employer_credit_code, kind, number, status, seed, paper, bank_version_id, started_at, deadline,
        start_face_check_id, page_leaves, max_points, pass_mark)
    SELECT v.id, v.exam_id, v.class_id, v.enrollment_id, v.trainee_id, v.institution_id, v.region_code,
        v.employer_credit_code, v.kind, v.number, v.status, v.seed, CAST(v.paper AS jsonb), v.bank_version_id,
        v.started_at, v.deadline, v.start_face_check_id, v.page_leaves, v.max_points, v.pass_mark
    FROM unnest(
        CAST(:id AS uuid[]), CAST(:exam_id AS uuid[]), CAST(:class_id AS uuid[]), CAST(:enrollment_id AS uuid[]),
        CAST(:trainee_id AS uuid[]), CAST(:institution_id AS uuid[]), CAST(:region_code AS text[]),
        CAST(:employer_credit_code AS text[]), CAST(:kind AS text[]), CAST(:number AS int[]),
        CAST(:status AS text[]), CAST(:seed AS bigint[]), CAST(:paper AS text[]), CAST(:bank_version_id AS uuid[]),
        CAST(:started_at AS timestamptz[]), CAST(:deadline AS timestamptz[]), CAST(:start_face_check_id AS text[]),
        CAST(:page_leaves AS int[]), CAST(:max_points AS int[]), CAST(:pass_mark AS int[])
    ) AS v(id, exam_id, class_id, enrollment_id, trainee_id, institution_id, region_code, employer_credit_code,
        kind, number, status, seed, paper, bank_version_id, started_at, deadline, start_face_check_id,
        page_leaves, max_points, pass_mark)
    ON CONFLICT DO NOTHING
    RETURNING id, exam_id, class_id, enrollment_id, trainee_id, institution_id, region_code, employer_credit_code,
        kind, number, status, seed, bank_version_id, started_at, deadline, start_face_check_id, page_leaves,
        submitted_at, cause, graded_at, score, max_points, pass_mark, passed, topics, answered
    """
)


def attempt_arrays(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """INSERT_ATTEMPTS's parameters for new attempts given as column dicts (the paper as JSON text)."""
    return {column: [row[column] for row in rows] for column in _NEW_ATTEMPT}


LOCK_ATTEMPT = select(attempts).where(attempts.c.id == bindparam("attempt_id", type_=Uuid)).with_for_update()

ANSWERS = select(attempt_answers.c.position, attempt_answers.c.selected, attempt_answers.c.revision).where(
    attempt_answers.c.attempt_id == bindparam("attempt_id", type_=Uuid)
)

# A batch of answers (arrays, one element per answer, sorted by attempt and position), each stored
# only while its attempt is in progress and before its deadline, and only if its revision is newer
# than the stored one: one upsert on the primary key. The share lock on each attempt row orders it
# with a submit (which locks the row for update): an answer is either in the grade or refused.
SAVE_ANSWERS = text(
    """
    INSERT INTO attempt_answers (attempt_id, position, selected, revision, saved_at)
    SELECT v.attempt_id, v.position, CAST(v.selected AS smallint[]), v.revision, v.saved_at
    FROM unnest(
        CAST(:attempt_ids AS uuid[]), CAST(:positions AS smallint[]), CAST(:selected AS text[]),
        CAST(:revisions AS bigint[]), CAST(:saved_at AS timestamptz[])
    ) AS v(attempt_id, position, selected, revision, saved_at)
    JOIN attempts a ON a.id = v.attempt_id AND a.status = 'in_progress' AND a.deadline > v.saved_at
    ORDER BY v.attempt_id, v.position
    FOR SHARE OF a
    ON CONFLICT (attempt_id, position) DO UPDATE
        SET selected = excluded.selected, revision = excluded.revision, saved_at = excluded.saved_at
        WHERE attempt_answers.revision < excluded.revision
    RETURNING attempt_id, position, selected, revision
    """
)

# Why answers of a batch were not stored: their attempts' state and the answers stored before.
ATTEMPT_STATES = select(attempts.c.id, attempts.c.status, attempts.c.deadline).where(
    attempts.c.id.in_(bindparam("attempt_ids", expanding=True))
)
STORED_ANSWERS = select(
    attempt_answers.c.attempt_id, attempt_answers.c.position, attempt_answers.c.selected, attempt_answers.c.revision
).where(attempt_answers.c.attempt_id.in_(bindparam("attempt_ids", expanding=True)))

# Executed with one parameter set per attempt (the caller holds the rows' locks).
GRADE_ATTEMPTS = (
    update(attempts)
    .where(attempts.c.id == bindparam("attempt_id", type_=Uuid), attempts.c.status == IN_PROGRESS)
    .values(
        status=GRADED,
        submitted_at=bindparam("p_submitted_at", type_=TZ),
        cause=bindparam("p_cause"),
        graded_at=bindparam("p_graded_at", type_=TZ),
        score=bindparam("p_score"),
        passed=bindparam("p_passed"),
        topics=bindparam("p_topics", type_=JSONB),
        answered=bindparam("p_answered"),
    )
)

LOCK_ATTEMPTS = (
    select(attempts)
    .where(attempts.c.id.in_(bindparam("attempt_ids", expanding=True)))
    .order_by(attempts.c.id)
    .with_for_update()
)
