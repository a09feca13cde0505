"""Reading, revoking and rendering certificates, scoped to what the caller may see."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_, select

from training_certificates.app.issuance import revoke
from training_certificates.app.records import REVOKED, CertificateView, by_serial, view_of
from training_certificates.app.verification import VerificationCache
from training_certificates.domain import access
from training_certificates.persistence.tables import certificates
from training_runtime.auth.commands import is_regulator_command
from training_runtime.auth.principal import INSTITUTION_ROLES, Principal, Role, region_prefix
from training_runtime.db import UnitOfWork
from training_runtime.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied, Validator
from training_runtime.paging import next_token, parse_page, parse_uuid
from training_runtime.protoconv import role_to_proto


def _which(certificate_id: str, serial_number: str) -> Any:
    """The look-up a request names: by id or by serial number, exactly one of them."""
    if certificate_id and serial_number:
        raise InvalidArgument("serial_number", "name the certificate by id or by serial number, not both")
    if serial_number:
        return by_serial(serial_number.strip())
    if not certificate_id:
        raise InvalidArgument("certificate_id", "is required (or serial_number)")
    return select(certificates).where(certificates.c.id == parse_uuid(certificate_id, "certificate_id"))


class Certificates:
    def __init__(self, uow: UnitOfWork, cache: VerificationCache) -> None:
        self._uow = uow
        self._cache = cache

    async def get(self, viewer: Principal, certificate_id: str, serial_number: str = "") -> CertificateView:
        query = _which(certificate_id, serial_number)
        async with self._uow.read() as session:
            row = (await session.execute(query)).one_or_none()
        if row is None:
            raise NotFound("certificate", certificate_id or serial_number)
        view = view_of(row)
        if not access.may_view(viewer, view.scope):
            raise NotFound("certificate", certificate_id or serial_number)
        return view

    async def list(
        self,
        viewer: Principal,
        *,
        page_size: int,
        page_token: str,
        trainee_id: str,
        institution_id: str,
        class_id: str,
        status: str | None,
    ) -> tuple[list[CertificateView], str]:
        page = parse_page(page_size, page_token)
        c = certificates.c
        query = select(certificates)
        if viewer.role is Role.TRAINEE:
            query = query.where(c.trainee_id == parse_uuid(viewer.subject, "trainee_id"))
        elif viewer.role in INSTITUTION_ROLES:
            query = query.where(c.institution_id == parse_uuid(viewer.institution_id or "", "institution_id"))
        elif viewer.role is Role.EMPLOYER:
            query = query.where(c.employer_credit_code == (viewer.employer_code or "-"))
        elif viewer.role in (Role.REGULATOR, Role.EXAM_INSTITUTION):
            query = query.where(c.region_code.startswith(region_prefix(viewer.region_code or "000000")))
        if trainee_id:
            query = query.where(c.trainee_id == parse_uuid(trainee_id, "trainee_id"))
        if institution_id:
            query = query.where(c.institution_id == parse_uuid(institution_id, "institution_id"))
        if class_id:
            query = query.where(c.class_id == parse_uuid(class_id, "class_id"))
        if status is not None:
            query = query.where(c.status == status)
        if page.after is not None:
            issued, last = page.after
            query = query.where(or_(c.issued_at < issued, and_(c.issued_at == issued, c.id < last)))
        query = query.order_by(c.issued_at.desc(), c.id.desc()).limit(page.size + 1)
        async with self._uow.read() as session:
            rows = (await session.execute(query)).all()
        more = len(rows) > page.size
        rows = rows[: page.size]
        views = [v for v in (view_of(r) for r in rows) if access.may_view(viewer, v.scope)]
        token = next_token(rows[-1].issued_at, rows[-1].id) if more and rows else ""
        return views, token

    async def revoke(self, actor: Principal, certificate_id: str, serial_number: str, reason: str) -> CertificateView:
        check = Validator()
        reason = reason.strip()
        if check.require(reason, "reason") and not 2 <= len(reason) <= 500:
            check.add("reason", "must be 2 to 500 characters")
        check.check()
        query = _which(certificate_id, serial_number)
        async with self._uow.begin() as tx:
            row = (await tx.session.execute(query.with_for_update())).one_or_none()
            if row is None or not access.may_view(actor, view_of(row).scope):
                raise NotFound("certificate", certificate_id or serial_number)
            if not access.may_revoke(actor, view_of(row).scope):
                raise PermissionDenied(
                    "only the issuing institution's admin or a regulator of its region may revoke a certificate"
                )
            if row.status == REVOKED and is_regulator_command(actor) and row.revoked_by == actor.subject:
                return view_of(row)  # a repeat of the command that revoked it
            if row.status == REVOKED:
                raise FailedPrecondition("CERTIFICATE_REVOKED", f"certificate {row.serial_number} is already revoked")
            revoked = await revoke(
                tx.session,
                tx.emit,
                row.id,
                reason=reason,
                actor_id=actor.subject,
                actor_role=role_to_proto(actor.role),
                now=tx.now(),
            )
            assert revoked is not None  # the row is locked and was valid
        self._cache.forget(row.serial_number)
        return view_of(revoked)
