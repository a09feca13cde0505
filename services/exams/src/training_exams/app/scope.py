"""Row scoping: a trainee sees its own attempts and the exams of its classes; an institution its
own classes' exams and attempts; a regulator its region's; an employer its staff's attempts; the
operator and platform services everything. A row the caller may not see is reported as not found."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, false, select, true

from training_exams.persistence.tables import attempts, enrollments, exams
from training_runtime.auth import Principal, Role
from training_runtime.auth.principal import INSTITUTION_ROLES, region_prefix

EVERYTHING = frozenset({Role.OPERATOR, Role.SERVICE})


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def sees_institution_row(principal: Principal, institution_id: uuid.UUID, region_code: str) -> bool:
    """Whether a supervisor (institution, regulator, operator, service) may see a class's row."""
    if principal.role in EVERYTHING:
        return True
    if principal.role in INSTITUTION_ROLES:
        return principal.institution_id == str(institution_id)
    if principal.role is Role.REGULATOR:
        return principal.covers_region(region_code)
    return False


def sees_attempt(principal: Principal, row: Any) -> bool:
    if principal.role is Role.TRAINEE:
        return principal.subject == str(row.trainee_id)
    if principal.role is Role.EMPLOYER:
        return bool(principal.employer_code) and principal.employer_code == row.employer_credit_code
    return sees_institution_row(principal, row.institution_id, row.region_code)


def _region(column: Any, principal: Principal) -> ColumnElement[bool]:
    if not principal.region_code:
        return false()
    try:
        return column.startswith(region_prefix(principal.region_code))
    except ValueError:
        return false()


def attempts_visible(principal: Principal) -> ColumnElement[bool]:
    role = principal.role
    if role in EVERYTHING:
        return true()
    if role is Role.TRAINEE:
        me = _uuid(principal.subject)
        return attempts.c.trainee_id == me if me else false()
    if role is Role.EMPLOYER:
        return attempts.c.employer_credit_code == principal.employer_code if principal.employer_code else false()
    if role in INSTITUTION_ROLES:
        mine = _uuid(principal.institution_id)
        return attempts.c.institution_id == mine if mine else false()
    if role is Role.REGULATOR:
        return _region(attempts.c.region_code, principal)
    return false()


def exams_visible(principal: Principal) -> ColumnElement[bool]:
    role = principal.role
    if role in EVERYTHING:
        return true()
    if role is Role.TRAINEE:
        me = _uuid(principal.subject)
        if me is None:
            return false()
        return exams.c.class_id.in_(select(enrollments.c.class_id).where(enrollments.c.trainee_id == me))
    if role in INSTITUTION_ROLES:
        mine = _uuid(principal.institution_id)
        return exams.c.institution_id == mine if mine else false()
    if role is Role.REGULATOR:
        return _region(exams.c.region_code, principal)
    return false()
