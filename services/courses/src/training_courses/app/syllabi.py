"""Syllabi: created by the platform operator, checked against the rulebook in force, never edited
(a changed syllabus is a new one, so classes keep the requirements they opened with)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from training_courses.app.views import ListPage, SyllabusView, TopicView
from training_courses.domain.content import TopicDraft, check_syllabus, check_text
from training_courses.persistence.tables import syllabi, syllabus_topics
from training_rulebook import RulebookSet
from training_runtime.auth import Principal
from training_runtime.clock import Clock
from training_runtime.db import UnitOfWork
from training_runtime.errors import NotFound, Validator
from training_runtime.paging import next_token, parse_page, parse_uuid
from training_runtime.vocabulary import QualificationType, TrainingKind


async def load_syllabus(session: AsyncSession, syllabus_id: uuid.UUID) -> SyllabusView | None:
    row = (await session.execute(select(syllabi).where(syllabi.c.id == syllabus_id))).one_or_none()
    if row is None:
        return None
    topics = (
        await session.execute(
            select(syllabus_topics)
            .where(syllabus_topics.c.syllabus_id == syllabus_id)
            .order_by(syllabus_topics.c.position)
        )
    ).all()
    return _view(row, topics)


def _view(row: Any, topics: Sequence[Any]) -> SyllabusView:
    return SyllabusView(
        syllabus_id=str(row.id),
        title=row.title,
        qualification_type=QualificationType(row.qualification_type),
        operation_type=row.operation_type,
        training_kind=TrainingKind(row.training_kind),
        total_hours=row.total_hours,
        topics=[TopicView(str(t.id), t.code, t.title, t.required_hours) for t in topics],
        rulebook_version=row.rulebook_version,
        created_at=row.created_at,
    )


class Syllabi:
    def __init__(self, uow: UnitOfWork, clock: Clock, rulebooks: RulebookSet) -> None:
        self._uow = uow
        self._clock = clock
        self._rulebooks = rulebooks

    async def create(
        self,
        actor: Principal,
        *,
        title: str,
        qualification: QualificationType | None,
        operation_type: str,
        kind: TrainingKind | None,
        total_hours: int,
        topics: Sequence[TopicDraft],
    ) -> SyllabusView:
        rules = self._rulebooks.in_force(self._clock.now())
        check = Validator()
        title = check_text(check, title, "title")
        topics = [TopicDraft(t.code.strip(), t.title.strip(), t.required_hours) for t in topics]
        check_syllabus(
            check,
            rules,
            qualification=qualification,
            operation_type=operation_type.strip(),
            kind=kind,
            total_hours=total_hours,
            topics=topics,
        )
        check.check()
        assert qualification is not None
        assert kind is not None
        syllabus_id = uuid.uuid4()
        async with self._uow.begin() as tx:
            await tx.session.execute(
                syllabi.insert().values(
                    id=syllabus_id,
                    title=title,
                    qualification_type=qualification.value,
                    operation_type=operation_type.strip(),
                    training_kind=kind.value,
                    total_hours=total_hours,
                    rulebook_version=rules.version,
                    created_by=actor.subject,
                    created_at=tx.now(),
                )
            )
            await tx.session.execute(
                syllabus_topics.insert(),
                [
                    {
                        "id": uuid.uuid4(),
                        "syllabus_id": syllabus_id,
                        "code": t.code,
                        "title": t.title,
                        "required_hours": t.required_hours,
                        "position": i,
                    }
                    for i, t in enumerate(topics)
                ],
            )
            view = await load_syllabus(tx.session, syllabus_id)
        assert view is not None
        return view

    async def get(self, syllabus_id: str) -> SyllabusView:
        sid = parse_uuid(syllabus_id, "syllabus_id")
        async with self._uow.read() as session:
            view = await load_syllabus(session, sid)
        if view is None:
            raise NotFound("syllabus", syllabus_id)
        return view

    async def list(
        self, *, page_size: int, page_token: str, qualification: QualificationType | None, kind: TrainingKind | None
    ) -> ListPage[SyllabusView]:
        page = parse_page(page_size, page_token)
        query = select(syllabi)
        if qualification is not None:
            query = query.where(syllabi.c.qualification_type == qualification.value)
        if kind is not None:
            query = query.where(syllabi.c.training_kind == kind.value)
        if page.after is not None:
            created, last = page.after
            query = query.where(
                or_(syllabi.c.created_at < created, and_(syllabi.c.created_at == created, syllabi.c.id < last))
            )
        query = query.order_by(syllabi.c.created_at.desc(), syllabi.c.id.desc()).limit(page.size + 1)
        async with self._uow.read() as session:
            rows = (await session.execute(query)).all()
            more = len(rows) > page.size
            rows = rows[: page.size]
            items = []
            for row in rows:
                view = await load_syllabus(session, row.id)
                assert view is not None
                items.append(view)
        return ListPage(items=items, next_page_token=next_token(rows[-1].created_at, rows[-1].id) if more else "")
