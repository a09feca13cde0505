"""Question banks: import (a new bank or a new version), review, reading and export.

The operator's banks belong to the platform and any institution may examine them; an institution's
banks are its own. A version is immutable once imported and usable only once the operator has
approved it. Importing the file the newest version came from again changes nothing.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from training_exams.app.catalogue import question_from_row
from training_exams.app.pages import ListPage, cut, newest_first
from training_exams.app.views import BankView, bank_view
from training_exams.domain.bank import BankDocument, Topic, parse_bank, render_bank
from training_exams.persistence.tables import bank_versions, banks, questions
from training_runtime.auth import Principal, Role
from training_runtime.auth.principal import INSTITUTION_ROLES
from training_runtime.db import Transaction, UnitOfWork
from training_runtime.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied, Validator
from training_runtime.paging import parse_page, parse_uuid
from training_runtime.vocabulary import QualificationType

PLATFORM = "platform"
PENDING, APPROVED, REJECTED = "pending_review", "approved", "rejected"
MAX_COMMENT = 2000


def owner_of(actor: Principal) -> tuple[str, uuid.UUID | None]:
    """Who owns the banks `actor` imports: the platform (operator) or the actor's institution."""
    if actor.role is Role.OPERATOR:
        return PLATFORM, None
    if actor.role in INSTITUTION_ROLES and actor.institution_id:
        return actor.institution_id, uuid.UUID(actor.institution_id)
    raise PermissionDenied("only the operator or an institution's staff own question banks")


def may_see_bank(actor: Principal, bank: Any) -> bool:
    if actor.role in INSTITUTION_ROLES:
        return bank.owner in (PLATFORM, actor.institution_id)
    return actor.role in (Role.OPERATOR, Role.REGULATOR, Role.SERVICE)


def _counts(document: BankDocument) -> list[dict[str, Any]]:
    tally = Counter((q.type.value, q.topic, q.difficulty.value) for q in document.questions)
    return [{"type": t, "topic": topic, "difficulty": d, "count": n} for (t, topic, d), n in sorted(tally.items())]


class Banks:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def _versions(self, session: Any, bank_id: uuid.UUID) -> list[Any]:
        return list(
            (
                await session.execute(
                    select(bank_versions).where(bank_versions.c.bank_id == bank_id).order_by(bank_versions.c.version)
                )
            ).all()
        )

    async def _visible(self, session: Any, actor: Principal, bank_id: str) -> Any:
        bid = parse_uuid(bank_id, "bank_id")
        bank = (await session.execute(select(banks).where(banks.c.id == bid))).one_or_none()
        if bank is None or not may_see_bank(actor, bank):
            raise NotFound("bank", bank_id)
        return bank

    async def import_bank(self, actor: Principal, content: bytes) -> tuple[BankView, int]:
        owner, institution_id = owner_of(actor)
        if not content:
            raise InvalidArgument("content", "is required: the bank file (docs/exams.md)")
        document = parse_bank(content)
        digest = hashlib.sha256(content).hexdigest()
        async with self._uow.begin() as tx:
            now = tx.now()
            await tx.session.execute(
                insert(banks)
                .values(
                    id=uuid.uuid4(),
                    code=document.code,
                    owner=owner,
                    institution_id=institution_id,
                    created_by=actor.subject,
                    created_at=now,
                )
                .on_conflict_do_nothing(constraint="banks_owner_code")
            )
            bank = (
                await tx.session.execute(
                    select(banks).where(banks.c.owner == owner, banks.c.code == document.code).with_for_update()
                )
            ).one()
            latest = (
                await tx.session.execute(
                    select(bank_versions)
                    .where(bank_versions.c.bank_id == bank.id)
                    .order_by(bank_versions.c.version.desc())
                    .limit(1)
                )
            ).one_or_none()
            if latest is not None and latest.content_sha256 == digest:
                number = latest.version
            else:
                number = (latest.version if latest else 0) + 1
                await self._store_version(tx, bank.id, number, document, digest, actor)
            view = bank_view(bank, await self._versions(tx.session, bank.id))
        return view, number

    async def _store_version(
        self, tx: Transaction, bank_id: uuid.UUID, number: int, document: BankDocument, digest: str, actor: Principal
    ) -> None:
        version_id = uuid.uuid4()
        await tx.session.execute(
            bank_versions.insert().values(
                id=version_id,
                bank_id=bank_id,
                version=number,
                status=PENDING,
                title=document.title,
                qualification_types=[q.value for q in document.qualification_types],
                topics=[{"code": t.code, "title": t.title} for t in document.topics],
                question_count=len(document.questions),
                counts=_counts(document),
                content_sha256=digest,
                imported_by=actor.subject,
                imported_at=tx.now(),
            )
        )
        await tx.session.execute(
            questions.insert(),
            [
                {
                    "bank_version_id": version_id,
                    "position": i,
                    "key": q.key,
                    "topic": q.topic,
                    "type": q.type.value,
                    "difficulty": q.difficulty.value,
                    "stem": q.stem,
                    "options": list(q.options),
                    "answer": sorted(q.answer),
                }
                for i, q in enumerate(document.questions)
            ],
        )

    async def review(
        self, actor: Principal, bank_id: str, version: int, approve: bool | None, comment: str
    ) -> BankView:
        check = Validator()
        bid = None
        try:
            bid = uuid.UUID(bank_id)
        except ValueError:
            check.add("bank_id", "must be a UUID" if bank_id else "is required")
        if version < 1:
            check.add("version", "must be 1 or more")
        if approve is None:
            check.add("decision", "must be APPROVE or REJECT")
        comment = comment.strip()
        if approve is False and not comment:
            check.add("comment", "is required when rejecting: say what to fix")
        if len(comment) > MAX_COMMENT:
            check.add("comment", f"must be at most {MAX_COMMENT} characters")
        check.check()
        async with self._uow.begin() as tx:
            bank = (await tx.session.execute(select(banks).where(banks.c.id == bid))).one_or_none()
            if bank is None:
                raise NotFound("bank", bank_id)
            row = (
                await tx.session.execute(
                    select(bank_versions)
                    .where(bank_versions.c.bank_id == bid, bank_versions.c.version == version)
                    .with_for_update()
                )
            ).one_or_none()
            if row is None:
                raise NotFound("bank version", f"{bank_id} v{version}")
            if row.status != PENDING:
                raise FailedPrecondition(
                    "BANK_VERSION_NOT_PENDING", f"version {version} was already reviewed ({row.status})"
                )
            await tx.session.execute(
                bank_versions.update()
                .where(bank_versions.c.id == row.id)
                .values(
                    status=APPROVED if approve else REJECTED,
                    reviewed_by=actor.subject,
                    reviewed_at=tx.now(),
                    review_comment=comment,
                )
            )
            return bank_view(bank, await self._versions(tx.session, bank.id))

    async def get(self, actor: Principal, bank_id: str) -> BankView:
        async with self._uow.read() as session:
            bank = await self._visible(session, actor, bank_id)
            return bank_view(bank, await self._versions(session, bank.id))

    async def list(
        self, actor: Principal, page_size: int, page_token: str, qualification: QualificationType | None
    ) -> ListPage[BankView]:
        page = parse_page(page_size, page_token)
        query = select(banks)
        if actor.role in INSTITUTION_ROLES:
            query = query.where(banks.c.owner.in_([PLATFORM, actor.institution_id or PLATFORM]))
        if qualification is not None:
            latest = (
                select(bank_versions.c.qualification_types)
                .where(bank_versions.c.bank_id == banks.c.id)
                .order_by(bank_versions.c.version.desc())
                .limit(1)
                .scalar_subquery()
            )
            query = query.where(func.array_position(latest, qualification.value).is_not(None))
        async with self._uow.read() as session:
            rows = (await session.execute(newest_first(query, banks.c.created_at, banks.c.id, page))).all()
            shown, token = cut(rows, page, "created_at")
            views = [bank_view(bank, await self._versions(session, bank.id)) for bank in shown]
        return ListPage(views, token)

    async def export(self, actor: Principal, bank_id: str, version: int) -> tuple[bytes, int]:
        if version < 0:
            raise InvalidArgument("version", "must be 0 (the latest) or a version number")
        async with self._uow.read() as session:
            bank = await self._visible(session, actor, bank_id)
            if actor.role is not Role.OPERATOR and bank.owner != actor.institution_id:
                raise PermissionDenied("only the bank's owner or the operator may export its answer keys")
            query = select(bank_versions).where(bank_versions.c.bank_id == bank.id)
            if version:
                query = query.where(bank_versions.c.version == version)
            row = (await session.execute(query.order_by(bank_versions.c.version.desc()).limit(1))).one_or_none()
            if row is None:
                raise NotFound("bank version", f"{bank_id} v{version}")
            rows = (
                await session.execute(
                    select(questions).where(questions.c.bank_version_id == row.id).order_by(questions.c.position)
                )
            ).all()
        document = BankDocument(
            code=bank.code,
            title=row.title,
            qualification_types=tuple(QualificationType(q) for q in row.qualification_types),
            topics=tuple(Topic(t["code"], t["title"]) for t in row.topics),
            questions=tuple(question_from_row(r) for r in rows),
        )
        return render_bank(document), row.version
