"""Sign-in: passwords, lock-out, access and refresh tokens, service tokens, signing keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from training_identity.app.personal import PersonalData
from training_identity.app.views import Tokens
from training_identity.domain import validation as v
from training_identity.domain.lockout import LockoutPolicy, is_locked, register_failure
from training_identity.passwords import Passwords
from training_identity.persistence.tables import refresh_tokens, users
from training_runtime.auth.principal import Principal, Role
from training_runtime.auth.tokens import IssuedToken, TokenSigner, raw_public_key
from training_runtime.db import Transaction, UnitOfWork
from training_runtime.errors import FailedPrecondition, InvalidArgument, Unauthenticated, Validator


@dataclass(frozen=True)
class SessionSettings:
    access_ttl: timedelta
    refresh_ttl: timedelta
    service_ttl: timedelta
    lockout: LockoutPolicy
    service_clients: dict[str, str]


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def principal_of(row) -> Principal:  # type: ignore[no-untyped-def]
    return Principal(
        subject=str(row.id),
        role=Role(row.role),
        institution_id=str(row.institution_id) if row.institution_id else None,
        region_code=row.region_code,
        employer_code=row.employer_credit_code if row.role == Role.EMPLOYER.value else None,
    )


class Sessions:
    def __init__(
        self,
        uow: UnitOfWork,
        personal: PersonalData,
        passwords: Passwords,
        signer: TokenSigner,
        settings: SessionSettings,
    ) -> None:
        self._uow = uow
        self._personal = personal
        self._passwords = passwords
        self._signer = signer
        self._settings = settings

    def _lookup(self, login: str):  # type: ignore[no-untyped-def]
        login = login.strip()
        if v.is_national_id_shaped(login):
            return users.c.national_id_hash == self._personal.national_id_hash(v.normalize_national_id(login))
        phone = v.normalize_phone(login)
        if phone.isdigit() and len(phone) == 11:
            return users.c.phone_hash == self._personal.phone_hash(phone)
        return users.c.username == login.lower()

    async def login(self, login: str, password: str) -> tuple[Tokens, object]:
        check = Validator()
        check.require(login, "login")
        check.require(password, "password")
        check.check()
        if len(login) > 64 or len(password) > v.PASSWORD_MAX:
            raise Unauthenticated("the login or the password is wrong", reason="INVALID_CREDENTIALS")
        failure: Exception | None = None
        async with self._uow.begin() as tx:
            row = (await tx.session.execute(select(users).where(self._lookup(login)).with_for_update())).one_or_none()
            now = tx.now()
            if row is not None and is_locked(row.locked_until, now):
                failure = self._locked(row.locked_until)
            elif not await self._passwords.verify(row.password_hash if row else None, password):
                failure = Unauthenticated("the login or the password is wrong", reason="INVALID_CREDENTIALS")
                if row is not None:
                    outcome = register_failure(list(row.recent_failures), now, self._settings.lockout)
                    await tx.session.execute(
                        update(users)
                        .where(users.c.id == row.id)
                        .values(recent_failures=outcome.recent_failures, locked_until=outcome.locked_until)
                    )
                    if outcome.locked_until is not None:
                        failure = self._locked(outcome.locked_until)
            else:
                values: dict[str, object] = {"recent_failures": [], "locked_until": None}
                if self._passwords.needs_rehash(row.password_hash):
                    values["password_hash"] = await self._passwords.hash(password)
                await tx.session.execute(update(users).where(users.c.id == row.id).values(**values))
                tokens = await self._open_session(tx, row)
        # The failure counter commits before the refusal is raised.
        if failure is not None:
            raise failure
        return tokens, row

    def _locked(self, until: datetime) -> FailedPrecondition:
        policy = self._settings.lockout
        return FailedPrecondition(
            "ACCOUNT_LOCKED",
            f"the account is locked until {until.isoformat(timespec='seconds')} after "
            f"{policy.max_failures} failed logins within {int(policy.window.total_seconds() // 60)} minutes",
            metadata={"locked_until": until.isoformat()},
        )

    async def _open_session(self, tx: Transaction, row, family: uuid.UUID | None = None) -> Tokens:  # type: ignore[no-untyped-def]
        now = tx.now()
        family = family or uuid.uuid4()
        refresh = secrets.token_urlsafe(32)
        refresh_expires = now + self._settings.refresh_ttl
        await tx.session.execute(
            refresh_tokens.insert().values(
                id=uuid.uuid4(),
                family_id=family,
                user_id=row.id,
                token_hash=_token_hash(refresh),
                issued_at=now,
                expires_at=refresh_expires,
            )
        )
        principal = principal_of(row)
        access: IssuedToken = self._signer.sign(
            Principal(**{**principal.__dict__, "session_id": str(family)}), ttl=self._settings.access_ttl
        )
        return Tokens(
            access_token=access.token,
            access_expires_at=access.expires_at,
            refresh_token=refresh,
            refresh_expires_at=refresh_expires,
        )

    async def refresh(self, refresh_token: str) -> Tokens:
        if not refresh_token:
            raise InvalidArgument("refresh_token", "is required")
        error: Unauthenticated | None = None
        async with self._uow.begin() as tx:
            now = tx.now()
            token = (
                await tx.session.execute(
                    select(refresh_tokens)
                    .where(refresh_tokens.c.token_hash == _token_hash(refresh_token))
                    .with_for_update()
                )
            ).one_or_none()
            if token is None:
                raise Unauthenticated("the refresh token is not valid", reason="REFRESH_TOKEN_INVALID")
            if token.revoked_at is not None:
                raise Unauthenticated("the session was ended; sign in again", reason="REFRESH_TOKEN_REVOKED")
            if token.used_at is not None:
                # A used token presented again: someone holds a copy. End the whole session.
                await self._revoke_family(tx, token.family_id, "refresh token reuse detected")
                error = Unauthenticated(
                    "this refresh token was already used; the session is ended for safety",
                    reason="REFRESH_TOKEN_REUSED",
                )
            elif token.expires_at <= now:
                raise Unauthenticated("the refresh token has expired; sign in again", reason="REFRESH_TOKEN_EXPIRED")
            else:
                await tx.session.execute(
                    update(refresh_tokens).where(refresh_tokens.c.id == token.id).values(used_at=now)
                )
                row = (await tx.session.execute(select(users).where(users.c.id == token.user_id))).one()
                tokens = await self._open_session(tx, row, family=token.family_id)
        if error is not None:
            raise error
        return tokens

    async def _revoke_family(self, tx: Transaction, family_id: uuid.UUID, reason: str) -> None:
        await tx.session.execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.family_id == family_id, refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=tx.now(), revoke_reason=reason)
        )

    async def logout(self, refresh_token: str) -> None:
        if not refresh_token:
            raise InvalidArgument("refresh_token", "is required")
        async with self._uow.begin() as tx:
            family = await tx.session.scalar(
                select(refresh_tokens.c.family_id).where(refresh_tokens.c.token_hash == _token_hash(refresh_token))
            )
            if family is not None:
                await self._revoke_family(tx, family, "logout")

    async def change_password(self, principal: Principal, current: str, new: str) -> None:
        check = Validator()
        check.require(current, "current_password")
        check.require(new, "new_password")
        check.check()
        if principal.is_service:
            raise FailedPrecondition("NOT_A_PERSON", "service accounts have no password")
        async with self._uow.begin() as tx:
            row = (
                await tx.session.execute(
                    select(users).where(users.c.id == uuid.UUID(principal.subject)).with_for_update()
                )
            ).one()
            if not await self._passwords.verify(row.password_hash, current):
                raise InvalidArgument("current_password", "does not match")
            personal = [row.username or ""]
            if row.phone_enc:
                personal.append(self._personal.phone(row.phone_enc, whole=True))
            if row.national_id_enc:
                personal.append(self._personal.national_id(row.national_id_enc, whole=True))
            if problem := v.check_password(new, personal=tuple(personal)):
                raise InvalidArgument("new_password", problem)
            await tx.session.execute(
                update(users)
                .where(users.c.id == row.id)
                .values(password_hash=await self._passwords.hash(new), password_changed_at=tx.now())
            )
            await tx.session.execute(
                update(refresh_tokens)
                .where(refresh_tokens.c.user_id == row.id, refresh_tokens.c.revoked_at.is_(None))
                .values(revoked_at=tx.now(), revoke_reason="password changed")
            )

    def issue_service_token(self, service_name: str, client_secret: str) -> IssuedToken:
        check = Validator()
        check.require(service_name, "service_name")
        check.require(client_secret, "client_secret")
        check.check()
        expected = self._settings.service_clients.get(service_name)
        # Compare even for an unknown name, so timing does not tell which names exist.
        ok = hmac.compare_digest((expected or "\x00" * 32).encode(), client_secret.encode())
        if expected is None or not ok:
            raise Unauthenticated("unknown service or wrong client secret", reason="INVALID_CLIENT")
        principal = Principal(subject=f"service:{service_name}", role=Role.SERVICE)
        return self._signer.sign(principal, ttl=self._settings.service_ttl)

    def public_keys(self) -> list[tuple[str, bytes, bool]]:
        current = self._signer.current_key_id
        return [(kid, raw_public_key(key), kid == current) for kid, key in self._signer.public_keys().items()]
