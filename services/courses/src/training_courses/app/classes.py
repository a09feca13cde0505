"""Training classes and enrollments. Only an active institution opens classes (within its approved
scope) and enrolls trainees; a class is governed by the rulebook version in force when it opened."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError

from training.courses.v1 import courses_events_pb2 as events
from training_courses.app.courses import institution_row, load_course
from training_courses.app.syllabi import load_syllabus
from training_courses.app.views import ClassView, EnrollmentView, ListPage
from training_courses.directory import Directory
from training_courses.domain import review
from training_courses.domain.content import CourseForClass, TopicRequirement, check_coverage, check_text
from training_courses.domain.review import CourseStatus
from training_courses.persistence.tables import class_courses, enrollments, training_classes
from training_events import Event
from training_rulebook import RulebookSet
from training_runtime.auth.principal import INSTITUTION_ROLES, Principal, Role, region_prefix
from training_runtime.clock import Clock
from training_runtime.db import UnitOfWork
from training_runtime.errors import AlreadyExists, FailedPrecondition, NotFound, Validator
from training_runtime.paging import next_token, parse_page, parse_uuid
from training_runtime.protoconv import kind_to_proto, qualification_to_proto, timestamp
from training_runtime.vocabulary import QualificationType, TrainingKind

CLASS_OPENED = "training.courses.class.opened.v1"
MAX_CLASS_COURSES = 100
ENROLLMENT_CREATED = "training.courses.enrollment.created.v1"


def ensure_active(institution: Any) -> None:
    if institution.status != "active":
        raise FailedPrecondition(
            "INSTITUTION_NOT_ACTIVE", f"the institution is {institution.status}: it opens no class and enrolls no one"
        )


def may_view_class(viewer: Principal, row: Any) -> bool:
    if viewer.role in (Role.OPERATOR, Role.SERVICE):
        return True
    if viewer.role in INSTITUTION_ROLES:
        return viewer.institution_id == str(row.institution_id)
    if viewer.role is Role.REGULATOR:
        return viewer.covers_region(row.region_code)
    return False


def _enrollment_view(r: Any) -> EnrollmentView:
    return EnrollmentView(
        str(r.id),
        str(r.class_id),
        str(r.trainee_id),
        str(r.institution_id),
        r.region_code,
        r.enrolled_at,
        r.enrolled_by,
    )


class Classes:
    def __init__(self, uow: UnitOfWork, clock: Clock, rulebooks: RulebookSet, directory: Directory) -> None:
        self._uow = uow
        self._clock = clock
        self._rulebooks = rulebooks
        self._directory = directory

    async def _view(self, session: Any, class_id: uuid.UUID) -> ClassView | None:
        row = (await session.execute(select(training_classes).where(training_classes.c.id == class_id))).one_or_none()
        if row is None:
            return None
        course_ids = (
            (
                await session.execute(
                    select(class_courses.c.course_id)
                    .where(class_courses.c.class_id == class_id)
                    .order_by(class_courses.c.position)
                )
            )
            .scalars()
            .all()
        )
        count = await session.scalar(select(func.count()).where(enrollments.c.class_id == class_id))
        return ClassView(
            class_id=str(row.id),
            institution_id=str(row.institution_id),
            region_code=row.region_code,
            title=row.title,
            syllabus_id=str(row.syllabus_id),
            qualification_type=QualificationType(row.qualification_type),
            operation_type=row.operation_type,
            training_kind=TrainingKind(row.training_kind),
            course_ids=[str(c) for c in course_ids],
            rulebook_version=row.rulebook_version,
            opened_at=row.opened_at,
            enrolled_count=int(count or 0),
        )

    async def open(self, actor: Principal, *, title: str, syllabus_id: str, course_ids: list[str]) -> ClassView:
        check = Validator()
        title = check_text(check, title, "title")
        sid = None
        try:
            sid = uuid.UUID(syllabus_id)
        except ValueError:
            check.add("syllabus_id", "must be a UUID" if syllabus_id else "is required")
        cids: list[uuid.UUID] = []
        for i, value in enumerate(course_ids if check.within(course_ids, "course_ids", MAX_CLASS_COURSES) else ()):
            try:
                cids.append(uuid.UUID(value))
            except ValueError:
                check.add(f"course_ids[{i}]", "must be a UUID")
        if not course_ids:
            check.add("course_ids", "name at least one course")
        if len(set(cids)) != len(cids):
            check.add("course_ids", "lists a course twice")
        check.check()
        assert sid is not None
        rules = self._rulebooks.in_force(self._clock.now())
        class_id = uuid.uuid4()
        async with self._uow.begin() as tx:
            institution = await institution_row(tx.session, actor.institution_id or "")
            ensure_active(institution)
            syllabus = await load_syllabus(tx.session, sid)
            if syllabus is None:
                raise NotFound("syllabus", syllabus_id)
            if syllabus.qualification_type.value not in institution.qualification_types or (
                syllabus.operation_type and syllabus.operation_type not in institution.operation_types
            ):
                raise FailedPrecondition(
                    "OUTSIDE_APPROVED_SCOPE", "the syllabus is outside the institution's approved scope"
                )
            chosen = []
            for i, cid in enumerate(cids):
                course = await load_course(tx.session, cid)
                if course is None or course.institution_id != str(institution.id):
                    raise NotFound("course of the institution", course_ids[i])
                if course.status is not CourseStatus.PUBLISHED:
                    raise FailedPrecondition("COURSE_NOT_PUBLISHED", f"course {course_ids[i]} is {course.status.value}")
                if course.syllabus_id != syllabus.syllabus_id:
                    raise FailedPrecondition(
                        "COURSE_OF_ANOTHER_SYLLABUS", f"course {course_ids[i]} belongs to another syllabus"
                    )
                chosen.append(course)
            check_coverage(
                rules,
                syllabus.total_hours,
                [TopicRequirement(t.topic_id, t.code, t.required_hours) for t in syllabus.topics],
                [CourseForClass(c.course_id, c.topic_id, c.credited_hours) for c in chosen],
            )
            now = tx.now()
            await tx.session.execute(
                training_classes.insert().values(
                    id=class_id,
                    institution_id=institution.id,
                    region_code=institution.region_code,
                    title=title,
                    syllabus_id=sid,
                    qualification_type=syllabus.qualification_type.value,
                    operation_type=syllabus.operation_type,
                    training_kind=syllabus.training_kind.value,
                    rulebook_version=rules.version,
                    opened_by=actor.subject,
                    opened_at=now,
                )
            )
            await tx.session.execute(
                class_courses.insert(),
                [
                    {
                        "class_id": class_id,
                        "course_id": uuid.UUID(c.course_id),
                        "course_version": c.version,
                        "position": i,
                    }
                    for i, c in enumerate(chosen)
                ],
            )
            await tx.emit(
                Event(
                    subject=CLASS_OPENED,
                    key=str(class_id),
                    message=events.ClassOpened(
                        class_id=str(class_id),
                        institution_id=str(institution.id),
                        region_code=institution.region_code,
                        syllabus_id=syllabus.syllabus_id,
                        qualification_type=qualification_to_proto(syllabus.qualification_type),
                        operation_type=syllabus.operation_type,
                        training_kind=kind_to_proto(syllabus.training_kind),
                        rulebook_version=rules.version,
                        retention_years=rules.retention_years[syllabus.qualification_type],
                        topics=[
                            events.ClassTopic(topic_id=t.topic_id, code=t.code, required_hours=t.required_hours)
                            for t in syllabus.topics
                        ],
                        lessons=[
                            events.PublishedLesson(
                                lesson_id=lesson.lesson_id,
                                course_id=c.course_id,
                                topic_id=c.topic_id,
                                duration_seconds=lesson.duration_seconds,
                                position=lesson.position,
                            )
                            for c in chosen
                            for lesson in c.lessons
                        ],
                        course_ids=[c.course_id for c in chosen],
                        teacher_ids=[c.teacher_id for c in chosen],
                        opened_at=timestamp(now),
                    ),
                )
            )
            view = await self._view(tx.session, class_id)
        assert view is not None
        return view

    async def get(self, actor: Principal, class_id: str) -> ClassView:
        cid = parse_uuid(class_id, "class_id")
        async with self._uow.read() as session:
            view = await self._view(session, cid)
            enrolled = actor.role is Role.TRAINEE and await session.scalar(
                select(enrollments.c.id).where(
                    enrollments.c.class_id == cid, enrollments.c.trainee_id == uuid.UUID(actor.subject)
                )
            )
        if view is None or not (enrolled or may_view_class(actor, view)):
            raise NotFound("class", class_id)
        return view

    async def list(
        self, actor: Principal, *, page_size: int, page_token: str, institution_id: str
    ) -> ListPage[ClassView]:
        page = parse_page(page_size, page_token)
        t = training_classes
        query = select(t.c.id, t.c.opened_at)
        if actor.role in INSTITUTION_ROLES:
            query = query.where(t.c.institution_id == parse_uuid(actor.institution_id or "", "institution_id"))
        elif actor.role is Role.REGULATOR:
            query = query.where(t.c.region_code.startswith(region_prefix(actor.region_code or "000000")))
        elif actor.role is Role.TRAINEE:
            query = query.where(
                t.c.id.in_(select(enrollments.c.class_id).where(enrollments.c.trainee_id == uuid.UUID(actor.subject)))
            )
        elif actor.role not in (Role.OPERATOR, Role.SERVICE):
            return ListPage()
        if institution_id:
            query = query.where(t.c.institution_id == parse_uuid(institution_id, "institution_id"))
        if page.after is not None:
            opened, last = page.after
            query = query.where(or_(t.c.opened_at < opened, and_(t.c.opened_at == opened, t.c.id < last)))
        query = query.order_by(t.c.opened_at.desc(), t.c.id.desc()).limit(page.size + 1)
        async with self._uow.read() as session:
            rows = (await session.execute(query)).all()
            more = len(rows) > page.size
            rows = rows[: page.size]
            items = [v for v in [await self._view(session, r.id) for r in rows] if v is not None]
        return ListPage(items=items, next_page_token=next_token(rows[-1].opened_at, rows[-1].id) if more else "")

    async def enroll(self, actor: Principal, class_id: str, trainee_id: str) -> EnrollmentView:
        check = Validator()
        cid = tid = None
        try:
            cid = uuid.UUID(class_id)
        except ValueError:
            check.add("class_id", "must be a UUID" if class_id else "is required")
        try:
            tid = uuid.UUID(trainee_id)
        except ValueError:
            check.add("trainee_id", "must be a UUID" if trainee_id else "is required")
        check.check()
        async with self._uow.read() as session:
            row = (await session.execute(select(training_classes).where(training_classes.c.id == cid))).one_or_none()
        if row is None:
            raise NotFound("class", class_id)
        review.ensure_own(actor, str(row.institution_id), "class", class_id)
        trainee = await self._directory.account(trainee_id)
        if trainee is None or trainee.role is not Role.TRAINEE:
            raise NotFound("trainee", trainee_id)
        enrollment_id = uuid.uuid4()
        qualification = QualificationType(row.qualification_type)
        try:
            async with self._uow.begin() as tx:
                institution = await institution_row(tx.session, str(row.institution_id))
                ensure_active(institution)
                now = tx.now()
                await tx.session.execute(
                    enrollments.insert().values(
                        id=enrollment_id,
                        class_id=cid,
                        trainee_id=tid,
                        institution_id=row.institution_id,
                        region_code=row.region_code,
                        employer_credit_code=trainee.employer_credit_code,
                        enrolled_by=actor.subject,
                        enrolled_at=now,
                    )
                )
                await tx.emit(
                    Event(
                        subject=ENROLLMENT_CREATED,
                        key=str(enrollment_id),
                        message=events.EnrollmentCreated(
                            enrollment_id=str(enrollment_id),
                            class_id=str(cid),
                            trainee_id=str(tid),
                            institution_id=str(row.institution_id),
                            region_code=row.region_code,
                            employer_credit_code=trainee.employer_credit_code,
                            enrolled_at=timestamp(now),
                            qualification_type=qualification_to_proto(qualification),
                            retention_years=self._rulebooks.version(row.rulebook_version).retention_years[
                                qualification
                            ],
                        ),
                    )
                )
                created = (await tx.session.execute(select(enrollments).where(enrollments.c.id == enrollment_id))).one()
        except IntegrityError as exc:
            raise AlreadyExists("the trainee is already enrolled in this class", field="trainee_id") from exc
        return _enrollment_view(created)

    async def enrollments(
        self, actor: Principal, *, page_size: int, page_token: str, class_id: str
    ) -> ListPage[EnrollmentView]:
        page = parse_page(page_size, page_token)
        e = enrollments
        query = select(e)
        if class_id:
            query = query.where(e.c.class_id == parse_uuid(class_id, "class_id"))
        if actor.role is Role.TRAINEE:
            query = query.where(e.c.trainee_id == uuid.UUID(actor.subject))
        elif actor.role in INSTITUTION_ROLES:
            query = query.where(e.c.institution_id == parse_uuid(actor.institution_id or "", "institution_id"))
        elif actor.role is Role.REGULATOR:
            query = query.where(e.c.region_code.startswith(region_prefix(actor.region_code or "000000")))
        elif actor.role is Role.EMPLOYER:
            query = query.where(e.c.employer_credit_code == (actor.employer_code or "-"))
        elif actor.role not in (Role.OPERATOR, Role.SERVICE):
            return ListPage()
        if page.after is not None:
            at, last = page.after
            query = query.where(or_(e.c.enrolled_at < at, and_(e.c.enrolled_at == at, e.c.id < last)))
        query = query.order_by(e.c.enrolled_at.desc(), e.c.id.desc()).limit(page.size + 1)
        async with self._uow.read() as session:
            rows = (await session.execute(query)).all()
        more = len(rows) > page.size
        rows = rows[: page.size]
        return ListPage(
            items=[_enrollment_view(r) for r in rows],
            next_page_token=next_token(rows[-1].enrolled_at, rows[-1].id) if more else "",
        )
