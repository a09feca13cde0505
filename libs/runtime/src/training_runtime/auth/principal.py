"""Who is calling: the principal taken from a verified access token, and region scoping."""

from __future__ import annotations

import contextvars
import re
from dataclasses import dataclass
from enum import StrEnum

from training_runtime.errors import Unauthenticated


class Role(StrEnum):
    TRAINEE = "trainee"
    INSTITUTION_ADMIN = "institution_admin"
    INSTITUTION_STAFF = "institution_staff"
    EMPLOYER = "employer"
    OPERATOR = "operator"
    REGULATOR = "regulator"
    EXAM_INSTITUTION = "exam_institution"
    SERVICE = "service"


INSTITUTION_ROLES = frozenset({Role.INSTITUTION_ADMIN, Role.INSTITUTION_STAFF})

_REGION = re.compile(r"^\d{6}$")


def region_prefix(code: str) -> str:
    """The prefix every code inside a region starts with: 440000 -> 44, 440100 -> 4401, 440106 -> 440106."""
    if not _REGION.match(code):
        raise ValueError(f"not a 6-digit region code: {code!r}")
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def region_covers(outer: str, inner: str) -> bool:
    """True when region `inner` lies within region `outer` (a province covers its prefectures...)."""
    if not (_REGION.match(outer) and _REGION.match(inner)):
        return False
    return inner.startswith(region_prefix(outer))


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    institution_id: str | None = None
    region_code: str | None = None
    employer_code: str | None = None
    session_id: str | None = None
    token_id: str | None = None

    @property
    def is_service(self) -> bool:
        return self.role is Role.SERVICE

    @property
    def service_name(self) -> str | None:
        return self.subject.removeprefix("service:") if self.is_service else None

    def covers_region(self, code: str | None) -> bool:
        """For regulators and exam institutions: does `code` lie within the caller's region?"""
        return bool(self.region_code and code and region_covers(self.region_code, code))


_current: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("training_principal", default=None)


def current_principal() -> Principal | None:
    return _current.get()


def require_principal() -> Principal:
    principal = _current.get()
    if principal is None:
        raise Unauthenticated()
    return principal


def set_principal(principal: Principal | None) -> contextvars.Token[Principal | None]:
    return _current.set(principal)


def reset_principal(token: contextvars.Token[Principal | None]) -> None:
    _current.reset(token)
