"""Who may see and who may revoke a certificate (the RPC policy admits the roles; this scopes rows)."""

from __future__ import annotations

from dataclasses import dataclass

from training_runtime.auth.principal import INSTITUTION_ROLES, Principal, Role


@dataclass(frozen=True)
class Scope:
    """The facts of a certificate that decide who may touch it."""

    trainee_id: str
    institution_id: str
    region_code: str
    employer_credit_code: str


def may_view(viewer: Principal, scope: Scope) -> bool:
    if viewer.role is Role.TRAINEE:
        return viewer.subject == scope.trainee_id
    if viewer.role in INSTITUTION_ROLES:
        return viewer.institution_id == scope.institution_id
    if viewer.role is Role.EMPLOYER:
        return bool(viewer.employer_code) and viewer.employer_code == scope.employer_credit_code
    if viewer.role in (Role.REGULATOR, Role.EXAM_INSTITUTION):
        return viewer.covers_region(scope.region_code)
    return viewer.role in (Role.OPERATOR, Role.SERVICE)


def may_revoke(actor: Principal, scope: Scope) -> bool:
    """The issuing institution's admin, or a regulator whose region covers the certificate's."""
    if actor.role is Role.INSTITUTION_ADMIN:
        return actor.institution_id == scope.institution_id
    if actor.role is Role.REGULATOR:
        return actor.covers_region(scope.region_code)
    return False
