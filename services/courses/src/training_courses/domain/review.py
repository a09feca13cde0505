"""A course's review: which step may follow which, and who may take it.

draft -> submitted -> approved (platform) -> accepted (institution) -> published; a submitted
course may be rejected with a comment, then edited (back to draft) and submitted again; anything
not yet withdrawn may be withdrawn by the operator or a regulator of the institution's region.
Only published content can be played.
"""

from __future__ import annotations

from enum import StrEnum

from training_runtime.auth.principal import INSTITUTION_ROLES, Principal, Role
from training_runtime.errors import FailedPrecondition, NotFound


class CourseStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    ACCEPTED = "accepted"
    PUBLISHED = "published"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


EDITABLE = frozenset({CourseStatus.DRAFT, CourseStatus.REJECTED})


def _require(current: CourseStatus, allowed: set[CourseStatus] | frozenset[CourseStatus], step: str) -> None:
    if current not in allowed:
        names = ", ".join(sorted(s.value for s in allowed))
        raise FailedPrecondition(
            "COURSE_STATUS_CONFLICT",
            f"a {current.value} course cannot be {step} (only a course that is {names})",
            metadata={"status": current.value},
        )


def edit(current: CourseStatus) -> CourseStatus:
    _require(current, EDITABLE, "edited")
    return CourseStatus.DRAFT


def submit(current: CourseStatus) -> CourseStatus:
    _require(current, EDITABLE, "submitted")
    return CourseStatus.SUBMITTED


def review(current: CourseStatus, *, approve: bool) -> CourseStatus:
    _require(current, {CourseStatus.SUBMITTED}, "reviewed")
    return CourseStatus.APPROVED if approve else CourseStatus.REJECTED


def accept(current: CourseStatus) -> CourseStatus:
    _require(current, {CourseStatus.APPROVED}, "accepted")
    return CourseStatus.ACCEPTED


def publish(current: CourseStatus) -> CourseStatus:
    _require(current, {CourseStatus.ACCEPTED}, "published")
    return CourseStatus.PUBLISHED


def withdraw(current: CourseStatus) -> CourseStatus:
    _require(current, set(CourseStatus) - {CourseStatus.WITHDRAWN}, "withdrawn")
    return CourseStatus.WITHDRAWN


def may_view(viewer: Principal, *, institution_id: str, region_code: str, status: CourseStatus) -> bool:
    """Institutions see their own; the operator and services all; regulators their region; everyone
    else (trainees, employers) only published courses."""
    if viewer.role in (Role.OPERATOR, Role.SERVICE):
        return True
    if viewer.role in INSTITUTION_ROLES and viewer.institution_id == institution_id:
        return True
    if viewer.role is Role.REGULATOR and viewer.covers_region(region_code):
        return True
    return status is CourseStatus.PUBLISHED


def ensure_own(actor: Principal, institution_id: str, what: str, identifier: str) -> None:
    """An institution account acts only on its institution's things (others are simply not found)."""
    if actor.role not in INSTITUTION_ROLES or actor.institution_id != institution_id:
        raise NotFound(what, identifier)


def ensure_may_withdraw(actor: Principal, region_code: str) -> None:
    if actor.role is Role.OPERATOR:
        return
    if actor.role is Role.REGULATOR and actor.covers_region(region_code):
        return
    raise FailedPrecondition("OUTSIDE_REGION", "a regulator may withdraw only courses of its own region")
