"""Institutions: registration by the operator, suspension and reinstatement, scoped reads."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, or_, select, update

from training.identity.v1 import identity_events_pb2 as events
from training_events import Event
from training_identity.app.views import InstitutionView, ListPage
from training_identity.domain import institutions as rules
from training_identity.domain import validation as v
from training_identity.domain.institutions import InstitutionStatus
from training_identity.persistence.tables import institution_status_changes, institutions
from training_runtime.auth.commands import is_regulator_command
from training_runtime.auth.principal import INSTITUTION_ROLES, Principal, Role, region_prefix
from training_runtime.db import UnitOfWork
from training_runtime.errors import AlreadyExists, InvalidArgument, NotFound, Validator
from training_runtime.paging import next_token, parse_page, parse_uuid
from training_runtime.protoconv import qualification_to_proto, role_to_proto, timestamp
from training_runtime.vocabulary import OPERATION_TYPES, QualificationType

REGISTERED = "training.identity.institution.registered.v1"
MAX_QUALIFICATION_TYPES = 20
MAX_OPERATION_TYPES = 100
SUSPENDED = "training.identity.institution.suspended.v1"
REINSTATED = "training.identity.institution.reinstated.v1"


@dataclass(frozen=True)
class NewInstitution:
    name: str
    credit_code: str
    region_code: str
    # None entries stand for unspecified or unknown enum values (reported by index).
    qualification_types: list[QualificationType | None]
    operation_types: list[str]


def _view(row) -> InstitutionView:  # type: ignore[no-untyped-def]
    return InstitutionView(
        institution_id=str(row.id),
        name=row.name,
        credit_code=row.credit_code,
        region_code=row.region_code,
        qualification_types=[QualificationType(q) for q in row.qualification_types],
        operation_types=list(row.operation_types),
        status=InstitutionStatus(row.status),
        status_reason=row.status_reason,
        created_at=row.created_at,
        status_changed_at=row.status_changed_at,
    )


def _check_reason(reason: str) -> str:
    check = Validator()
    if check.require(reason, "reason") and (problem := v.check_display_text(reason, minimum=2, maximum=500)):
        check.add("reason", problem)
    check.check()
    return reason.strip()


class Institutions:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def register(self, actor: Principal, n: NewInstitution) -> InstitutionView:
        check = Validator()
        name = n.name.strip()
        code = v.normalize_credit_code(n.credit_code)
        if check.require(name, "name") and (problem := v.check_display_text(name, minimum=2, maximum=100)):
            check.add("name", problem)
        if check.require(code, "credit_code") and (problem := v.check_credit_code(code)):
            check.add("credit_code", problem)
        if check.require(n.region_code, "region_code") and (problem := v.check_region_code(n.region_code)):
            check.add("region_code", problem)
        if not n.qualification_types:
            check.add("qualification_types", "name at least one qualification type")
        within = check.within(n.qualification_types, "qualification_types", MAX_QUALIFICATION_TYPES)
        within = check.within(n.operation_types, "operation_types", MAX_OPERATION_TYPES) and within
        if not within:
            check.check()
        for i, q in enumerate(n.qualification_types):
            if q is None:
                check.add(f"qualification_types[{i}]", "is not a known qualification type")
        types = [q for q in n.qualification_types if q is not None]
        if len(set(types)) != len(types):
            check.add("qualification_types", "lists a type twice")
        special = QualificationType.SPECIAL_OPERATION in types
        if special and not n.operation_types:
            check.add("operation_types", "special-operation training needs at least one operation type")
        if not special and n.operation_types and not check.failed("qualification_types"):
            check.add("operation_types", "only special-operation training has operation types")
        for i, op in enumerate(n.operation_types):
            if op not in OPERATION_TYPES:
                check.add(f"operation_types[{i}]", f"{op!r} is not in the special-operation catalogue")
        if len(set(n.operation_types)) != len(n.operation_types):
            check.add("operation_types", "lists a type twice")
        check.check()

        institution_id = uuid.uuid4()
        async with self._uow.begin() as tx:
            if await tx.session.scalar(select(exists().where(institutions.c.credit_code == code))):
                raise AlreadyExists("an institution with this credit code is registered", field="credit_code")
            now = tx.now()
            await tx.session.execute(
                institutions.insert().values(
                    id=institution_id,
                    name=name,
                    credit_code=code,
                    region_code=n.region_code,
                    qualification_types=[q.value for q in types],
                    operation_types=list(n.operation_types),
                    status=InstitutionStatus.ACTIVE.value,
                    status_reason="registered",
                    status_changed_at=now,
                    created_at=now,
                    created_by=uuid.UUID(actor.subject),
                )
            )
            await tx.emit(
                Event(
                    subject=REGISTERED,
                    key=str(institution_id),
                    message=events.InstitutionRegistered(
                        institution_id=str(institution_id),
                        name=name,
                        credit_code=code,
                        region_code=n.region_code,
                        qualification_types=[qualification_to_proto(q) for q in types],
                        operation_types=list(n.operation_types),
                        registered_at=timestamp(now),
                    ),
                )
            )
            row = (await tx.session.execute(select(institutions).where(institutions.c.id == institution_id))).one()
        return _view(row)

    async def change_status(
        self, actor: Principal, institution_id: str, reason: str, *, suspend: bool
    ) -> InstitutionView:
        iid = parse_uuid(institution_id, "institution_id")
        reason = _check_reason(reason)
        async with self._uow.begin() as tx:
            row = (
                await tx.session.execute(select(institutions).where(institutions.c.id == iid).with_for_update())
            ).one_or_none()
            if row is None or not rules.may_view(actor, str(row.id), row.region_code, InstitutionStatus(row.status)):
                raise NotFound("institution", institution_id)
            rules.ensure_may_change_status(actor, row.region_code)
            current = InstitutionStatus(row.status)
            if is_regulator_command(actor) and await _applied_by(tx.session, iid, actor):
                return _view(row)  # a repeat of a command already applied: its state, unchanged
            target = rules.suspend(current) if suspend else rules.reinstate(current)
            now = tx.now()
            await tx.session.execute(
                update(institutions)
                .where(institutions.c.id == iid)
                .values(status=target.value, status_reason=reason, status_changed_at=now)
            )
            await tx.session.execute(
                institution_status_changes.insert().values(
                    id=uuid.uuid4(),
                    institution_id=iid,
                    from_status=current.value,
                    to_status=target.value,
                    reason=reason,
                    actor_id=actor.subject,
                    actor_role=actor.role.value,
                    changed_at=now,
                )
            )
            common = {
                "institution_id": str(iid),
                "reason": reason,
                "actor_id": actor.subject,
                "actor_role": role_to_proto(actor.role),
            }
            if suspend:
                await tx.emit(
                    Event(
                        subject=SUSPENDED,
                        key=str(iid),
                        message=events.InstitutionSuspended(**common, suspended_at=timestamp(now)),
                    )
                )
            else:
                await tx.emit(
                    Event(
                        subject=REINSTATED,
                        key=str(iid),
                        message=events.InstitutionReinstated(**common, reinstated_at=timestamp(now)),
                    )
                )
            row = (await tx.session.execute(select(institutions).where(institutions.c.id == iid))).one()
        return _view(row)

    async def get(self, viewer: Principal, institution_id: str) -> InstitutionView:
        iid = parse_uuid(institution_id, "institution_id")
        async with self._uow.read() as session:
            row = (await session.execute(select(institutions).where(institutions.c.id == iid))).one_or_none()
        if row is None or not rules.may_view(viewer, str(row.id), row.region_code, InstitutionStatus(row.status)):
            raise NotFound("institution", institution_id)
        return _view(row)

    async def list(
        self,
        viewer: Principal,
        *,
        page_size: int,
        page_token: str,
        region_code: str,
        status: InstitutionStatus | None,
    ) -> ListPage[InstitutionView]:
        page = parse_page(page_size, page_token)
        if region_code and (problem := v.check_region_code(region_code)):
            raise InvalidArgument("region_code", problem)
        query = select(institutions)
        if viewer.role is Role.REGULATOR:
            query = query.where(institutions.c.region_code.startswith(region_prefix(viewer.region_code or "000000")))
        elif viewer.role in INSTITUTION_ROLES:
            query = query.where(institutions.c.id == parse_uuid(viewer.institution_id or "", "institution_id"))
        elif viewer.role not in (Role.OPERATOR, Role.SERVICE):
            query = query.where(institutions.c.status == InstitutionStatus.ACTIVE.value)
        if region_code:
            query = query.where(institutions.c.region_code.startswith(region_prefix(region_code)))
        if status is not None:
            query = query.where(institutions.c.status == status.value)
        if page.after is not None:
            created, last_id = page.after
            query = query.where(
                or_(
                    institutions.c.created_at < created,
                    and_(institutions.c.created_at == created, institutions.c.id < last_id),
                )
            )
        query = query.order_by(institutions.c.created_at.desc(), institutions.c.id.desc()).limit(page.size + 1)
        async with self._uow.read() as session:
            rows = (await session.execute(query)).all()
        more = len(rows) > page.size
        rows = rows[: page.size]
        items = [
            _view(row)
            for row in rows
            if rules.may_view(viewer, str(row.id), row.region_code, InstitutionStatus(row.status))
        ]
        return ListPage(
            items=items, next_page_token=next_token(rows[-1].created_at, rows[-1].id) if more and rows else ""
        )


async def _applied_by(session: Any, iid: uuid.UUID, actor: Principal) -> bool:
    """Whether this command already changed the institution's status (whatever happened since)."""
    found = await session.scalar(
        select(institution_status_changes.c.id)
        .where(
            institution_status_changes.c.institution_id == iid,
            institution_status_changes.c.actor_id == actor.subject,
        )
        .limit(1)
    )
    return found is not None
