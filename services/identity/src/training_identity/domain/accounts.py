"""Accounts: who may create which account, who may see whom, and whose numbers are shown whole."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from training_runtime.auth.principal import INSTITUTION_ROLES, Principal, Role, region_covers
from training_runtime.errors import PermissionDenied

# The roles each creator may create through CreateAccount (trainees register themselves).
CREATABLE: dict[Role, frozenset[Role]] = {
    Role.OPERATOR: frozenset(
        {Role.OPERATOR, Role.REGULATOR, Role.INSTITUTION_ADMIN, Role.EMPLOYER, Role.EXAM_INSTITUTION}
    ),
    Role.INSTITUTION_ADMIN: frozenset({Role.INSTITUTION_STAFF}),
}


@dataclass(frozen=True)
class Account:
    """What visibility decisions need to know about an account."""

    user_id: str
    role: Role
    institution_id: str | None
    region_code: str | None
    employer_credit_code: str | None
    created_at: datetime
    # (institution_id, region_code) of every class the trainee is enrolled in: an institution sees
    # the trainees of its classes, and a regulator those enrolled in its region.
    enrolled_with: frozenset[tuple[str, str]] = frozenset()


def ensure_may_create(creator: Principal, role: Role, institution_id: str | None) -> None:
    allowed = CREATABLE.get(creator.role, frozenset())
    if role not in allowed:
        raise PermissionDenied(f"a {creator.role.value} may not create {role.value} accounts")
    if creator.role is Role.INSTITUTION_ADMIN and institution_id != creator.institution_id:
        raise PermissionDenied("an institution admin creates staff of its own institution only")


def may_view(viewer: Principal, account: Account) -> bool:
    if viewer.subject == account.user_id or viewer.role in (Role.OPERATOR, Role.SERVICE):
        return True
    if viewer.role is Role.REGULATOR:
        if not viewer.region_code:
            return False
        regions = {account.region_code} | {region for _, region in account.enrolled_with}
        return any(region and region_covers(viewer.region_code, region) for region in regions)
    if viewer.role in INSTITUTION_ROLES:
        if viewer.institution_id is None:
            return False
        institutions = {account.institution_id} | {institution for institution, _ in account.enrolled_with}
        return viewer.institution_id in institutions
    if viewer.role is Role.EMPLOYER:
        return (
            account.role is Role.TRAINEE
            and account.employer_credit_code is not None
            and account.employer_credit_code == viewer.employer_code
        )
    return False


def sees_whole_numbers(viewer: Principal, account: Account) -> bool:
    """ID and phone numbers are shown whole to the person, to platform services, and to regulators."""
    return viewer.subject == account.user_id or viewer.role in (Role.SERVICE, Role.REGULATOR)
