"""Dating a trainee's records: how long identity keeps them, from the enrollments courses announced.

Identity cannot tell which enrollment a face check belongs to (its context names a study session or
exam attempt of another service), so a trainee's training checks are kept for the longest retention
among the trainee's enrollments, counted from the check. The trainee's personal data is kept until
the latest of those dates and of each enrollment's own date plus its retention. Dates only ever move
later: a new enrollment extends them, nothing shortens them.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Interval, and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from training_identity.face.rules import Purpose
from training_identity.face.tables import face_checks, face_snapshots
from training_identity.persistence.tables import trainee_enrollments, users

# Self-tests never count towards anything: their snapshots are not training records.
TRAINING_PURPOSES = tuple(p.value for p in Purpose if p is not Purpose.SELF_TEST)


def _years_of(user_id: uuid.UUID, default_years: int):  # type: ignore[no-untyped-def]
    """The longest retention (years) among the trainee's enrollments; NULL when it has none."""
    return (
        select(func.max(func.coalesce(trainee_enrollments.c.retention_years, default_years)))
        .where(trainee_enrollments.c.user_id == user_id)
        .scalar_subquery()
    )


def _plus_years(moment, years):  # type: ignore[no-untyped-def]
    return moment + func.make_interval(years, type_=Interval())


async def date_training_check(
    session: AsyncConnection, user_id: uuid.UUID, snapshot_id: uuid.UUID, default_years: int
) -> None:
    """Date a training check's snapshot (from when it was taken) and extend the trainee's retention
    with it, in the check's transaction. Nothing happens for a trainee not enrolled anywhere (yet)."""
    until = _plus_years(face_snapshots.c.created_at, _years_of(user_id, default_years))
    dated = (
        await session.execute(
            update(face_snapshots)
            .where(face_snapshots.c.id == snapshot_id)
            .values(retention_until=until)
            .returning(face_snapshots.c.retention_until)
        )
    ).scalar_one()
    if dated is not None:
        await session.execute(
            update(users)
            .where(users.c.id == user_id)
            .values(retention_until=func.greatest(users.c.retention_until, dated))
        )


async def extend_for_enrollment(session: AsyncConnection, user_id: uuid.UUID, default_years: int) -> None:
    """After an enrollment is learnt: every training check's snapshot and the trainee's personal data
    are kept at least the (possibly longer) retention it brings."""
    years = _years_of(user_id, default_years)
    training_snapshots = select(face_checks.c.snapshot_id).where(
        face_checks.c.user_id == user_id,
        face_checks.c.purpose.in_(TRAINING_PURPOSES),
        face_checks.c.snapshot_id.is_not(None),
    )
    await session.execute(
        update(face_snapshots)
        .where(face_snapshots.c.id.in_(training_snapshots))
        .values(
            retention_until=func.greatest(
                face_snapshots.c.retention_until, _plus_years(face_snapshots.c.created_at, years)
            )
        )
    )
    last_enrollment_end = (
        select(
            func.max(
                _plus_years(
                    trainee_enrollments.c.enrolled_at,
                    func.coalesce(trainee_enrollments.c.retention_years, default_years),
                )
            )
        )
        .where(trainee_enrollments.c.user_id == user_id)
        .scalar_subquery()
    )
    last_check_end = (
        select(_plus_years(func.max(face_checks.c.checked_at), years))
        .where(and_(face_checks.c.user_id == user_id, face_checks.c.purpose.in_(TRAINING_PURPOSES)))
        .scalar_subquery()
    )
    await session.execute(
        update(users)
        .where(users.c.id == user_id, users.c.erased_at.is_(None))
        .values(retention_until=func.greatest(users.c.retention_until, last_enrollment_end, last_check_end))
    )
