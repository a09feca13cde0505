"""Institutions: status transitions and who may see or change them."""

from __future__ import annotations

from enum import StrEnum

from training_runtime.auth.principal import INSTITUTION_ROLES, Principal, Role, region_covers
from training_runtime.errors import FailedPrecondition, PermissionDenied


class InstitutionStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DEREGISTERED = "deregistered"


def ensure_may_change_status(actor: Principal, region_code: str) -> None:
    """The operator, or a regulator whose region covers the institution's."""
    if actor.role is Role.OPERATOR:
        return
    if actor.role is Role.REGULATOR and actor.region_code and region_covers(actor.region_code, region_code):
        return
    raise PermissionDenied("only the operator or a regulator of the institution's region may change its status")


def suspend(current: InstitutionStatus) -> InstitutionStatus:
    if current is not InstitutionStatus.ACTIVE:
        raise FailedPrecondition(
            "INSTITUTION_NOT_ACTIVE", f"only an active institution can be suspended; it is {current}"
        )
    return InstitutionStatus.SUSPENDED


def reinstate(current: InstitutionStatus) -> InstitutionStatus:
    if current is not InstitutionStatus.SUSPENDED:
        raise FailedPrecondition(
            "INSTITUTION_NOT_SUSPENDED", f"only a suspended institution can be reinstated; it is {current}"
        )
    return InstitutionStatus.ACTIVE


def may_view(viewer: Principal, institution_id: str, region_code: str, status: InstitutionStatus) -> bool:
    """Operators and services see all; regulators their region; institutions themselves; everyone
    else the public register of active institutions."""
    if viewer.role in (Role.OPERATOR, Role.SERVICE):
        return True
    if viewer.role is Role.REGULATOR:
        return bool(viewer.region_code and region_covers(viewer.region_code, region_code))
    if viewer.role in INSTITUTION_ROLES:
        return viewer.institution_id == institution_id
    return status is InstitutionStatus.ACTIVE
