"""Quality evaluation: a trainee rates a finished course and its teacher once; institutions see
their own and regulators their region's figures per course, teacher and institution."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.exc import IntegrityError

from training_courses.app.views import QualityView
from training_courses.persistence.tables import (
    class_courses,
    course_finishes,
    courses,
    credited_hours,
    enrollments,
    institutions,
    learning_anomalies,
    ratings,
)
from training_runtime.auth.principal import INSTITUTION_ROLES, Principal, Role
from training_runtime.db import UnitOfWork
from training_runtime.errors import AlreadyExists, FailedPrecondition, NotFound, PermissionDenied, Validator


class Quality:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def rate(
        self,
        actor: Principal,
        enrollment_id: str,
        course_id: str,
        course_rating: int,
        teacher_rating: int,
        comment: str,
    ) -> tuple[str, Any]:
        check = Validator()
        ids = {}
        for name, value in (("enrollment_id", enrollment_id), ("course_id", course_id)):
            try:
                ids[name] = uuid.UUID(value)
            except ValueError:
                check.add(name, "must be a UUID" if value else "is required")
        for name, value in (("course_rating", course_rating), ("teacher_rating", teacher_rating)):
            if not 1 <= value <= 5:
                check.add(name, "must be 1 to 5")
        comment = comment.strip()
        if len(comment) > 500 or (not comment.isprintable() and comment):
            check.add("comment", "must be at most 500 printable characters")
        check.check()
        async with self._uow.read() as session:
            e = (
                await session.execute(select(enrollments).where(enrollments.c.id == ids["enrollment_id"]))
            ).one_or_none()
            if e is None or str(e.trainee_id) != actor.subject:
                raise NotFound("enrollment", enrollment_id)
            in_class = await session.scalar(
                select(courses.c.teacher_id)
                .select_from(courses.join(class_courses, class_courses.c.course_id == courses.c.id))
                .where(class_courses.c.class_id == e.class_id, courses.c.id == ids["course_id"])
            )
            if in_class is None:
                raise NotFound("course of the enrollment's class", course_id)
            finished = await session.scalar(
                select(course_finishes.c.finished_at).where(
                    course_finishes.c.enrollment_id == e.id, course_finishes.c.course_id == ids["course_id"]
                )
            )
        if finished is None:
            raise FailedPrecondition("COURSE_NOT_FINISHED", "a course can be rated once it is finished")
        rating_id = uuid.uuid4()
        try:
            async with self._uow.begin() as tx:
                now = tx.now()
                await tx.session.execute(
                    ratings.insert().values(
                        id=rating_id,
                        enrollment_id=e.id,
                        course_id=ids["course_id"],
                        teacher_id=in_class,
                        course_rating=course_rating,
                        teacher_rating=teacher_rating,
                        comment=comment,
                        rated_at=now,
                    )
                )
        except IntegrityError as exc:
            raise AlreadyExists("this course was already rated in this enrollment", field="course_id") from exc
        return str(rating_id), now

    async def figures(self, actor: Principal, scope: str | None, subject_id: str) -> QualityView:
        check = Validator()
        if scope is None:
            check.add("scope", "must be COURSE, TEACHER or INSTITUTION")
        sid = None
        try:
            sid = uuid.UUID(subject_id)
        except ValueError:
            check.add("subject_id", "must be a UUID" if subject_id else "is required")
        check.check()
        column = {"course": courses.c.id, "teacher": courses.c.teacher_id, "institution": courses.c.institution_id}
        async with self._uow.read() as session:
            scoped = (
                await session.execute(
                    select(courses.c.id, courses.c.institution_id, courses.c.region_code).where(column[scope] == sid)
                )
            ).all()
            if scope == "institution" and not scoped:
                inst = (await session.execute(select(institutions).where(institutions.c.id == sid))).one_or_none()
                if inst is None:
                    raise NotFound("institution", subject_id)
                scoped_regions = [(inst.id, inst.region_code)]
            else:
                if not scoped:
                    raise NotFound(scope or "subject", subject_id)
                scoped_regions = [(r.institution_id, r.region_code) for r in scoped]
            for institution_id, region in scoped_regions:
                if actor.role in INSTITUTION_ROLES and str(institution_id) != actor.institution_id:
                    raise NotFound(scope or "subject", subject_id)
                if actor.role is Role.REGULATOR and not actor.covers_region(region):
                    raise NotFound(scope or "subject", subject_id)
                if actor.role not in (*INSTITUTION_ROLES, Role.REGULATOR, Role.OPERATOR):
                    raise PermissionDenied("quality figures are for institutions, regulators and the operator")
            course_ids = [r.id for r in scoped]
            rated = (
                await session.execute(
                    select(func.count(), func.avg(ratings.c.course_rating), func.avg(ratings.c.teacher_rating)).where(
                        ratings.c.course_id.in_(course_ids) if scope != "teacher" else ratings.c.teacher_id == sid
                    )
                )
            ).one()
            pairs = (
                select(enrollments.c.id.label("enrollment_id"), class_courses.c.course_id)
                .select_from(enrollments.join(class_courses, class_courses.c.class_id == enrollments.c.class_id))
                .where(class_courses.c.course_id.in_(course_ids))
                .subquery()
            )
            pair_count = await session.scalar(select(func.count()).select_from(pairs))
            trainees = await session.scalar(select(func.count(distinct(pairs.c.enrollment_id))))
            finished = await session.scalar(
                select(func.count()).select_from(course_finishes).where(course_finishes.c.course_id.in_(course_ids))
            )
            hours = (
                await session.execute(
                    select(
                        func.coalesce(func.sum(credited_hours.c.hours), 0.0),
                        func.count(distinct(credited_hours.c.enrollment_id)),
                    ).where(credited_hours.c.course_id.in_(course_ids), credited_hours.c.invalidated.is_(False))
                )
            ).one()
            anomaly_count = await session.scalar(
                select(func.count(distinct(learning_anomalies.c.anomaly_id))).where(
                    learning_anomalies.c.enrollment_id.in_(select(pairs.c.enrollment_id))
                )
            )
        return QualityView(
            scope=scope or "",
            subject_id=subject_id,
            ratings=int(rated[0] or 0),
            mean_course_rating=float(rated[1] or 0.0),
            mean_teacher_rating=float(rated[2] or 0.0),
            trainees=int(trainees or 0),
            completion_rate=(finished or 0) / pair_count if pair_count else 0.0,
            hours_per_trainee=float(hours[0]) / hours[1] if hours[1] else 0.0,
            anomaly_rate=(anomaly_count or 0) / trainees if trainees else 0.0,
        )
