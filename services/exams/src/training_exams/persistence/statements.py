"""The statements a mass start runs thousands of times, built once with bind parameters.

Building a SQLAlchemy statement costs more than executing it on a warm connection; these are
compiled once (SQLAlchemy's cache) and executed with a parameter dict.
"""

from __future__ import annotations

from sqlalchemy import DateTime, Uuid, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import JSONB, insert

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

# Nothing when another start of the same trainee and exam got there first (a unique index). The
# paper is not read back: the caller has it.
INSERT_ATTEMPT = insert(attempts).on_conflict_do_nothing().returning(*(c for c in attempts.c if c.name != "paper"))

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
