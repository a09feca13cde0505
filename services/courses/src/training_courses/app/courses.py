"""Courses: authoring by the institution, review by the platform, acceptance and publication by the
institution, withdrawal by the operator or a regulator. Every step is stored with who, when, why."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from training.courses.v1 import courses_events_pb2 as events
from training_courses.app.syllabi import load_syllabus
from training_courses.app.views import CourseView, DecisionView, LessonView, ListPage
from training_courses.directory import Directory
from training_courses.domain import review
from training_courses.domain.content import LessonDraft, check_lessons, check_text
from training_courses.domain.review import CourseStatus
from training_courses.persistence.tables import course_decisions, courses, institutions, lessons
from training_events import Event
from training_rulebook import RulebookSet
from training_runtime.auth.commands import is_regulator_command
from training_runtime.auth.principal import INSTITUTION_ROLES, Principal, Role, region_prefix
from training_runtime.clock import Clock
from training_runtime.db import Transaction, UnitOfWork
from training_runtime.errors import Aborted, FailedPrecondition, NotFound, Validator
from training_runtime.paging import next_token, parse_page, parse_uuid
from training_runtime.protoconv import role_to_proto, timestamp
from training_runtime.vocabulary import QualificationType

PUBLISHED = "training.courses.course.published.v1"
WITHDRAWN = "training.courses.course.withdrawn.v1"
TEACHER_ROLES = (Role.INSTITUTION_STAFF, Role.INSTITUTION_ADMIN)


@dataclass(frozen=True)
class CourseDraft:
    title: str
    syllabus_id: str
    topic_id: str
    credited_hours: int
    teacher_id: str
    lessons: Sequence[LessonDraft]


async def load_course(session: AsyncSession, course_id: uuid.UUID, *, lock: bool = False) -> CourseView | None:
    query = select(courses).where(courses.c.id == course_id)
    row = (await session.execute(query.with_for_update() if lock else query)).one_or_none()
    if row is None:
        return None
    rows = (
        await session.execute(
            select(lessons)
            .where(lessons.c.course_id == course_id, lessons.c.version == row.version)
            .order_by(lessons.c.position)
        )
    ).all()
    return CourseView(
        course_id=str(row.id),
        institution_id=str(row.institution_id),
        region_code=row.region_code,
        title=row.title,
        syllabus_id=str(row.syllabus_id),
        topic_id=str(row.topic_id),
        qualification_type=QualificationType(row.qualification_type),
        credited_hours=row.credited_hours,
        teacher_id=str(row.teacher_id),
        lessons=[LessonView(str(r.id), r.title, r.duration_seconds, r.media_ref, r.position) for r in rows],
        version=row.version,
        status=CourseStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def institution_row(session: AsyncSession, institution_id: str) -> Any:
    row = (
        await session.execute(select(institutions).where(institutions.c.id == uuid.UUID(institution_id)))
    ).one_or_none()
    if row is None:
        raise FailedPrecondition(
            "INSTITUTION_UNKNOWN", "the institution is not known to courses yet (its registration is on its way); retry"
        )
    return row


class Courses:
    def __init__(self, uow: UnitOfWork, clock: Clock, rulebooks: RulebookSet, directory: Directory) -> None:
        self._uow = uow
        self._clock = clock
        self._rulebooks = rulebooks
        self._directory = directory

    async def _check_draft(self, actor: Principal, draft: CourseDraft) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
        rules = self._rulebooks.in_force(self._clock.now())
        check = Validator()
        check_text(check, draft.title, "course.title")
        ids = {}
        for name in ("syllabus_id", "topic_id", "teacher_id"):
            value = getattr(draft, name)
            try:
                ids[name] = uuid.UUID(value)
            except ValueError:
                check.add(f"course.{name}", "must be a UUID" if value else "is required")
        check_lessons(check, rules, draft.lessons, draft.credited_hours)
        check.check()
        async with self._uow.read() as session:
            syllabus = await load_syllabus(session, ids["syllabus_id"])
        if syllabus is None:
            raise NotFound("syllabus", draft.syllabus_id)
        if draft.topic_id not in {t.topic_id for t in syllabus.topics}:
            raise NotFound("topic of the syllabus", draft.topic_id)
        teacher = await self._directory.account(draft.teacher_id)
        if teacher is None or teacher.role not in TEACHER_ROLES or teacher.institution_id != actor.institution_id:
            raise FailedPrecondition("TEACHER_NOT_STAFF", "the teacher must be a staff member of the institution")
        return ids["syllabus_id"], ids["topic_id"], ids["teacher_id"]

    async def _write_lessons(
        self, tx: Transaction, course_id: uuid.UUID, version: int, drafts: Sequence[LessonDraft]
    ) -> None:
        await tx.session.execute(
            lessons.insert(),
            [
                {
                    "id": uuid.uuid4(),
                    "course_id": course_id,
                    "version": version,
                    "position": i,
                    "title": d.title.strip(),
                    "duration_seconds": d.duration_seconds,
                    "media_ref": d.media_ref.strip(),
                }
                for i, d in enumerate(drafts)
            ],
        )

    async def _decide(
        self, tx: Transaction, actor: Principal, course: CourseView, status: CourseStatus, comment: str
    ) -> None:
        await tx.session.execute(
            course_decisions.insert().values(
                id=uuid.uuid4(),
                course_id=uuid.UUID(course.course_id),
                version=course.version,
                status=status.value,
                actor_id=actor.subject,
                actor_role=actor.role.value,
                comment=comment,
                decided_at=tx.now(),
            )
        )
        await tx.session.execute(
            update(courses)
            .where(courses.c.id == uuid.UUID(course.course_id))
            .values(status=status.value, updated_at=tx.now())
        )

    async def create(self, actor: Principal, draft: CourseDraft) -> CourseView:
        syllabus_id, topic_id, teacher_id = await self._check_draft(actor, draft)
        course_id = uuid.uuid4()
        async with self._uow.begin() as tx:
            institution = await institution_row(tx.session, actor.institution_id or "")
            syllabus = await load_syllabus(tx.session, syllabus_id)
            assert syllabus is not None
            if syllabus.qualification_type.value not in institution.qualification_types:
                raise FailedPrecondition(
                    "OUTSIDE_APPROVED_SCOPE",
                    "the syllabus's qualification type is outside the institution's approved scope",
                )
            now = tx.now()
            await tx.session.execute(
                courses.insert().values(
                    id=course_id,
                    institution_id=institution.id,
                    region_code=institution.region_code,
                    title=draft.title.strip(),
                    syllabus_id=syllabus_id,
                    topic_id=topic_id,
                    qualification_type=syllabus.qualification_type.value,
                    credited_hours=draft.credited_hours,
                    teacher_id=teacher_id,
                    version=1,
                    status=CourseStatus.DRAFT.value,
                    created_by=actor.subject,
                    created_at=now,
                    updated_at=now,
                )
            )
            await self._write_lessons(tx, course_id, 1, draft.lessons)
            view = await load_course(tx.session, course_id)
            assert view is not None
            await self._decide(tx, actor, view, CourseStatus.DRAFT, "created")
            view = await load_course(tx.session, course_id)
        assert view is not None
        return view

    async def _own(self, tx: Transaction, actor: Principal, course_id: str, version: int | None) -> CourseView:
        course = await load_course(tx.session, parse_uuid(course_id, "course_id"), lock=True)
        if course is None:
            raise NotFound("course", course_id)
        review.ensure_own(actor, course.institution_id, "course", course_id)
        if version is not None and version != course.version:
            raise Aborted(f"the course is at version {course.version}, not {version}; reload it")
        return course

    async def update(self, actor: Principal, course_id: str, version: int, draft: CourseDraft) -> CourseView:
        syllabus_id, topic_id, teacher_id = await self._check_draft(actor, draft)
        async with self._uow.begin() as tx:
            course = await self._own(tx, actor, course_id, version)
            review.edit(course.status)
            new_version = course.version + 1
            cid = uuid.UUID(course.course_id)
            await tx.session.execute(
                update(courses)
                .where(courses.c.id == cid)
                .values(
                    title=draft.title.strip(),
                    syllabus_id=syllabus_id,
                    topic_id=topic_id,
                    credited_hours=draft.credited_hours,
                    teacher_id=teacher_id,
                    version=new_version,
                    updated_at=tx.now(),
                )
            )
            await self._write_lessons(tx, cid, new_version, draft.lessons)
            course = await load_course(tx.session, cid)
            assert course is not None
            await self._decide(tx, actor, course, CourseStatus.DRAFT, "edited")
            course = await load_course(tx.session, cid)
        assert course is not None
        return course

    async def step(self, actor: Principal, course_id: str, version: int, action: str, comment: str) -> CourseView:
        """submit | approve | reject | accept | publish."""
        check = Validator()
        if action == "reject":
            comment = check_text(check, comment, "comment", minimum=2, maximum=1000)
        elif len(comment) > 1000:
            check.add("comment", "must be at most 1000 characters")
        check.check()
        async with self._uow.begin() as tx:
            if action in ("approve", "reject"):
                course = await load_course(tx.session, parse_uuid(course_id, "course_id"), lock=True)
                if course is None:
                    raise NotFound("course", course_id)
                if version != course.version:
                    raise Aborted(f"the course is at version {course.version}, not {version}; reload it")
                target = review.review(course.status, approve=action == "approve")
            else:
                course = await self._own(tx, actor, course_id, version)
                if action in ("accept", "publish") and actor.role is not Role.INSTITUTION_ADMIN:
                    raise FailedPrecondition("ADMIN_REQUIRED", "only the institution's admin may accept or publish")
                target = {"submit": review.submit, "accept": review.accept, "publish": review.publish}[action](
                    course.status
                )
            await self._decide(tx, actor, course, target, comment.strip())
            if target is CourseStatus.PUBLISHED:
                await tx.emit(
                    Event(
                        subject=PUBLISHED,
                        key=course.course_id,
                        message=events.CoursePublished(
                            course_id=course.course_id,
                            version=course.version,
                            institution_id=course.institution_id,
                            region_code=course.region_code,
                            syllabus_id=course.syllabus_id,
                            topic_id=course.topic_id,
                            credited_hours=course.credited_hours,
                            teacher_id=course.teacher_id,
                            lessons=[
                                events.PublishedLesson(
                                    lesson_id=lesson.lesson_id,
                                    course_id=course.course_id,
                                    topic_id=course.topic_id,
                                    duration_seconds=lesson.duration_seconds,
                                    position=lesson.position,
                                )
                                for lesson in course.lessons
                            ],
                            published_at=timestamp(tx.now()),
                        ),
                    )
                )
            course = await load_course(tx.session, uuid.UUID(course.course_id))
        assert course is not None
        return course

    async def withdraw(self, actor: Principal, course_id: str, reason: str) -> CourseView:
        check = Validator()
        reason = check_text(check, reason, "reason", minimum=2, maximum=500)
        check.check()
        async with self._uow.begin() as tx:
            course = await load_course(tx.session, parse_uuid(course_id, "course_id"), lock=True)
            if course is None:
                raise NotFound("course", course_id)
            review.ensure_may_withdraw(actor, course.region_code)
            if is_regulator_command(actor) and await _withdrawn_by(tx.session, course, actor):
                return course  # a repeat of the command that withdrew it
            target = review.withdraw(course.status)
            await self._decide(tx, actor, course, target, reason)
            await tx.emit(
                Event(
                    subject=WITHDRAWN,
                    key=course.course_id,
                    message=events.CourseWithdrawn(
                        course_id=course.course_id,
                        institution_id=course.institution_id,
                        reason=reason,
                        actor_id=actor.subject,
                        actor_role=role_to_proto(actor.role),
                        withdrawn_at=timestamp(tx.now()),
                    ),
                )
            )
            course = await load_course(tx.session, uuid.UUID(course.course_id))
        assert course is not None
        return course

    async def get(self, actor: Principal, course_id: str) -> CourseView:
        async with self._uow.read() as session:
            course = await load_course(session, parse_uuid(course_id, "course_id"))
        if course is None or not review.may_view(
            actor, institution_id=course.institution_id, region_code=course.region_code, status=course.status
        ):
            raise NotFound("course", course_id)
        return course

    async def list(
        self, actor: Principal, *, page_size: int, page_token: str, status: CourseStatus | None, institution_id: str
    ) -> ListPage[CourseView]:
        page = parse_page(page_size, page_token)
        query = select(courses.c.id, courses.c.created_at)
        if actor.role in INSTITUTION_ROLES:
            query = query.where(courses.c.institution_id == parse_uuid(actor.institution_id or "", "institution_id"))
        elif actor.role is Role.REGULATOR:
            query = query.where(courses.c.region_code.startswith(region_prefix(actor.region_code or "000000")))
        elif actor.role not in (Role.OPERATOR, Role.SERVICE):
            query = query.where(courses.c.status == CourseStatus.PUBLISHED.value)
        if status is not None:
            query = query.where(courses.c.status == status.value)
        if institution_id:
            query = query.where(courses.c.institution_id == parse_uuid(institution_id, "institution_id"))
        if page.after is not None:
            created, last = page.after
            query = query.where(
                or_(courses.c.created_at < created, and_(courses.c.created_at == created, courses.c.id < last))
            )
        query = query.order_by(courses.c.created_at.desc(), courses.c.id.desc()).limit(page.size + 1)
        async with self._uow.read() as session:
            rows = (await session.execute(query)).all()
            more = len(rows) > page.size
            rows = rows[: page.size]
            items = [c for c in [await load_course(session, r.id) for r in rows] if c is not None]
        return ListPage(items=items, next_page_token=next_token(rows[-1].created_at, rows[-1].id) if more else "")

    async def decisions(self, actor: Principal, course_id: str) -> list[DecisionView]:
        course = await self.get(actor, course_id)
        if actor.role in (Role.TRAINEE, Role.EMPLOYER, Role.EXAM_INSTITUTION):
            raise NotFound("course", course_id)
        async with self._uow.read() as session:
            rows = (
                await session.execute(
                    select(course_decisions)
                    .where(course_decisions.c.course_id == uuid.UUID(course.course_id))
                    .order_by(course_decisions.c.seq)
                )
            ).all()
        return [
            DecisionView(
                str(r.id),
                str(r.course_id),
                r.version,
                CourseStatus(r.status),
                r.actor_id,
                r.actor_role,
                r.comment,
                r.decided_at,
            )
            for r in rows
        ]


async def _withdrawn_by(session: Any, course: CourseView, actor: Principal) -> bool:
    """Whether this command already withdrew the course."""
    found = await session.scalar(
        select(course_decisions.c.id)
        .where(
            course_decisions.c.course_id == uuid.UUID(course.course_id),
            course_decisions.c.status == CourseStatus.WITHDRAWN.value,
            course_decisions.c.actor_id == actor.subject,
        )
        .limit(1)
    )
    return found is not None
