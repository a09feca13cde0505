"""Exam definitions: practice, mock and final exams of a class on an approved bank version, and
previews of the paper a seed assembles. A definition never changes once created (attempts and the
mass-start cache rely on it); a different exam is a new definition."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from training_exams.app.banks import APPROVED, may_see_bank
from training_exams.app.catalogue import Catalogue, ExamDefinition, exam_from_row, sections_to_json
from training_exams.app.pages import ListPage, cut, newest_first
from training_exams.app.scope import exams_visible, sees_institution_row
from training_exams.app.views import PaperView, paper_view
from training_exams.domain.bank import Difficulty, QuestionType
from training_exams.domain.exam import (
    ExamKind,
    Limits,
    check_blueprint,
    check_limits,
    face_check_by_default,
    page_leave_limit,
    pass_mark,
    points_from,
)
from training_exams.domain.paper import MAX_SEED, Section, assemble
from training_exams.persistence.tables import bank_versions, banks, classes, exams
from training_rulebook import RulebookSet
from training_runtime.auth import Principal
from training_runtime.db import UnitOfWork
from training_runtime.errors import FailedPrecondition, InvalidArgument, NotFound, Validator
from training_runtime.paging import parse_page, parse_uuid

MAX_TITLE = 200
MAX_BLUEPRINT_SECTIONS = 50


@dataclass(frozen=True)
class SectionInput:
    type: QuestionType | None
    topic: str
    difficulty: Difficulty | None
    count: int
    points: float


@dataclass(frozen=True)
class NewExam:
    class_id: str
    kind: ExamKind | None
    title: str
    bank_id: str
    bank_version: int
    time_limit_minutes: int
    max_attempts: int
    face_check_at_start: bool | None
    blueprint: Sequence[SectionInput]


def _sections(check: Validator, blueprint: Sequence[SectionInput]) -> list[Section]:
    sections: list[Section] = []
    if not check.within(blueprint, "blueprint", MAX_BLUEPRINT_SECTIONS):
        return sections
    for i, s in enumerate(blueprint):
        points = points_from(s.points)
        if s.type is None:
            check.add(f"blueprint[{i}].type", "must be SINGLE_CHOICE, MULTIPLE_CHOICE or TRUE_FALSE")
        if points is None:
            check.add(f"blueprint[{i}].points", "must be a positive multiple of 0.01")
        if s.type is not None and points is not None:
            sections.append(Section(s.type, s.topic.strip() or None, s.difficulty, s.count, points))
    return sections


def new_seed() -> int:
    return secrets.randbelow(MAX_SEED) + 1


class Exams:
    def __init__(self, uow: UnitOfWork, rulebooks: RulebookSet, catalogue: Catalogue) -> None:
        self._uow = uow
        self._rulebooks = rulebooks
        self._catalogue = catalogue

    async def create(self, actor: Principal, new: NewExam) -> ExamDefinition:
        check = Validator()
        class_id = bank_id = None
        try:
            class_id = uuid.UUID(new.class_id)
        except ValueError:
            check.add("class_id", "must be a UUID" if new.class_id else "is required")
        try:
            bank_id = uuid.UUID(new.bank_id)
        except ValueError:
            check.add("bank_id", "must be a UUID" if new.bank_id else "is required")
        if new.kind is None:
            check.add("kind", "must be PRACTICE, MOCK or FINAL")
        title = new.title.strip()
        if not title or len(title) > MAX_TITLE:
            check.add("title", f"must be 1 to {MAX_TITLE} characters")
        if new.bank_version < 0:
            check.add("bank_version", "must be 0 (the latest approved) or a version number")
        sections = _sections(check, new.blueprint)
        check.check()
        assert class_id is not None
        assert bank_id is not None
        assert new.kind is not None

        async with self._uow.read() as session:
            found = (await session.execute(select(classes).where(classes.c.id == class_id))).one_or_none()
            if found is None:
                raise FailedPrecondition(
                    "CLASS_NOT_KNOWN", f"exams has not learned of class {new.class_id} yet; retry shortly"
                )
            if str(found.institution_id) != actor.institution_id:
                raise NotFound("class", new.class_id)
            bank = (await session.execute(select(banks).where(banks.c.id == bank_id))).one_or_none()
            if bank is None or not may_see_bank(actor, bank):
                raise NotFound("bank", new.bank_id)
            query = select(bank_versions).where(bank_versions.c.bank_id == bank_id)
            query = (
                query.where(bank_versions.c.version == new.bank_version)
                if new.bank_version
                else query.where(bank_versions.c.status == APPROVED)
            )
            version = (await session.execute(query.order_by(bank_versions.c.version.desc()).limit(1))).one_or_none()
        if version is None:
            raise FailedPrecondition(
                "BANK_VERSION_NOT_APPROVED",
                f"bank {new.bank_id} has no approved version" if not new.bank_version else "no such bank version",
            )
        if version.status != APPROVED:
            raise FailedPrecondition(
                "BANK_VERSION_NOT_APPROVED", f"version {version.version} is {version.status}; only approved versions"
            )
        if found.qualification_type not in version.qualification_types:
            raise FailedPrecondition(
                "BANK_NOT_FOR_QUALIFICATION",
                f"the bank is for {', '.join(version.qualification_types)}, not {found.qualification_type}",
            )
        rules = self._rulebooks.version(found.rulebook_version).exam
        limits = Limits(new.time_limit_minutes, new.max_attempts)
        snapshot = await self._catalogue.snapshot(version.id)
        check_limits(check, new.kind, limits, rules)
        check_blueprint(check, new.kind, sections, snapshot, rules)
        check.check()

        max_points = sum(s.count * s.points for s in sections)
        face_check = new.face_check_at_start if new.face_check_at_start is not None else face_check_by_default(new.kind)
        exam_id = uuid.uuid4()
        async with self._uow.begin() as tx:
            await tx.session.execute(
                exams.insert().values(
                    id=exam_id,
                    class_id=class_id,
                    institution_id=found.institution_id,
                    region_code=found.region_code,
                    qualification_type=found.qualification_type,
                    operation_type=found.operation_type,
                    training_kind=found.training_kind,
                    class_topics=found.topics,
                    kind=new.kind.value,
                    title=title,
                    bank_id=bank_id,
                    bank_version_id=version.id,
                    bank_version=version.version,
                    time_limit_seconds=new.time_limit_minutes * 60,
                    max_attempts=new.max_attempts,
                    face_check_at_start=face_check,
                    page_leave_limit=page_leave_limit(new.kind, rules),
                    blueprint=sections_to_json(tuple(sections)),
                    question_count=sum(s.count for s in sections),
                    max_points=max_points,
                    pass_mark=pass_mark(new.kind, max_points, rules),
                    partial_credit=rules.multiple_choice_partial_credit,
                    rulebook_version=found.rulebook_version,
                    created_by=actor.subject,
                    created_at=tx.now(),
                )
            )
            row = (await tx.session.execute(select(exams).where(exams.c.id == exam_id))).one()
        return exam_from_row(row)

    async def get(self, actor: Principal, exam_id: str) -> ExamDefinition:
        eid = parse_uuid(exam_id, "exam_id")
        async with self._uow.read() as session:
            row = (await session.execute(select(exams).where(exams.c.id == eid, exams_visible(actor)))).one_or_none()
        if row is None:
            raise NotFound("exam", exam_id)
        return exam_from_row(row)

    async def list(
        self, actor: Principal, page_size: int, page_token: str, class_id: str, kind: ExamKind | None
    ) -> ListPage[ExamDefinition]:
        page = parse_page(page_size, page_token)
        query = select(exams).where(exams_visible(actor))
        if class_id:
            query = query.where(exams.c.class_id == parse_uuid(class_id, "class_id"))
        if kind is not None:
            query = query.where(exams.c.kind == kind.value)
        async with self._uow.read() as session:
            rows = (await session.execute(newest_first(query, exams.c.created_at, exams.c.id, page))).all()
        shown, token = cut(rows, page, "created_at")
        return ListPage([exam_from_row(r) for r in shown], token)

    async def preview(self, actor: Principal, exam_id: str, seed: int) -> tuple[PaperView, int]:
        eid = parse_uuid(exam_id, "exam_id")
        if seed < 0 or seed > MAX_SEED:
            raise InvalidArgument("seed", f"must be 0 (a fresh one) to {MAX_SEED}")
        exam = await self._catalogue.exam(eid)
        if exam is None or not sees_institution_row(actor, exam.institution_id, exam.region_code):
            raise NotFound("exam", exam_id)
        seed = seed or new_seed()
        snapshot = await self._catalogue.snapshot(exam.bank_version_id)
        return paper_view(assemble(snapshot, exam.sections, seed), snapshot), seed
