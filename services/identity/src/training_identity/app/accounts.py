"""Accounts: trainee registration, staff accounts, and scoped reads."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from training.identity.v1 import identity_events_pb2 as events
from training_events import Event
from training_identity.app.personal import PersonalData
from training_identity.app.views import ListPage, UserView
from training_identity.domain import validation as v
from training_identity.domain.accounts import Account, ensure_may_create, may_view, sees_whole_numbers
from training_identity.domain.institutions import InstitutionStatus
from training_identity.passwords import Passwords
from training_identity.persistence.tables import institutions, trainee_enrollments, users
from training_runtime.auth.principal import INSTITUTION_ROLES, Principal, Role, region_prefix
from training_runtime.clock import Clock
from training_runtime.db import Transaction, UnitOfWork
from training_runtime.errors import AlreadyExists, FailedPrecondition, NotFound, Validator
from training_runtime.paging import next_token, parse_page, parse_uuid
from training_runtime.protoconv import role_to_proto, timestamp

USER_REGISTERED = "training.identity.user.registered.v1"


@dataclass(frozen=True)
class TraineeRegistration:
    display_name: str
    national_id: str
    phone: str
    employer_name: str
    employer_credit_code: str
    password: str


@dataclass(frozen=True)
class NewAccount:
    role: Role | None
    username: str
    password: str
    display_name: str
    phone: str
    institution_id: str
    region_code: str
    employer_name: str
    employer_credit_code: str


def _account(row, enrolled_with: frozenset[tuple[str, str]] = frozenset()) -> Account:  # type: ignore[no-untyped-def]
    return Account(
        user_id=str(row.id),
        role=Role(row.role),
        institution_id=str(row.institution_id) if row.institution_id else None,
        region_code=row.region_code,
        employer_credit_code=row.employer_credit_code,
        created_at=row.created_at,
        enrolled_with=enrolled_with,
    )


async def _enrollments(
    session: AsyncConnection, user_ids: list[uuid.UUID]
) -> dict[uuid.UUID, frozenset[tuple[str, str]]]:
    """(institution, region) of every class each user is enrolled in."""
    if not user_ids:
        return {}
    found: dict[uuid.UUID, set[tuple[str, str]]] = {}
    rows = await session.execute(
        select(trainee_enrollments.c.user_id, trainee_enrollments.c.institution_id, trainee_enrollments.c.region_code)
        .where(trainee_enrollments.c.user_id.in_(user_ids))
        .distinct()
    )
    for user_id, institution_id, region_code in rows:
        found.setdefault(user_id, set()).add((str(institution_id), region_code))
    return {user_id: frozenset(pairs) for user_id, pairs in found.items()}


def _enrolled_with_institution(institution_id: uuid.UUID | None):  # type: ignore[no-untyped-def]
    return users.c.id.in_(
        select(trainee_enrollments.c.user_id).where(trainee_enrollments.c.institution_id == institution_id)
    )


class Accounts:
    def __init__(self, uow: UnitOfWork, clock: Clock, personal: PersonalData, passwords: Passwords) -> None:
        self._uow = uow
        self._clock = clock
        self._personal = personal
        self._passwords = passwords

    def view(self, row, viewer: Principal | None) -> UserView:  # type: ignore[no-untyped-def]
        account = _account(row)
        whole = viewer is not None and sees_whole_numbers(viewer, account)
        return UserView(
            user_id=str(row.id),
            role=Role(row.role),
            display_name=row.display_name,
            username=row.username or "",
            national_id=self._personal.national_id(row.national_id_enc, whole=whole),
            phone=self._personal.phone(row.phone_enc, whole=whole),
            employer_name=row.employer_name or "",
            employer_credit_code=row.employer_credit_code or "",
            institution_id=str(row.institution_id) if row.institution_id else "",
            region_code=row.region_code or "",
            created_at=row.created_at,
            unmasked=whole,
        )

    async def register_trainee(self, r: TraineeRegistration) -> UserView:
        today: date = self._clock.now().date()
        check = Validator()
        name = v.normalize_name(r.display_name)
        national_id = v.normalize_national_id(r.national_id)
        phone = v.normalize_phone(r.phone)
        credit_code = v.normalize_credit_code(r.employer_credit_code)
        if check.require(name, "display_name") and (problem := v.check_real_name(name)):
            check.add("display_name", problem)
        if check.require(national_id, "national_id") and (problem := v.check_national_id(national_id, today=today)):
            check.add("national_id", problem)
        if check.require(phone, "phone") and (problem := v.check_phone(phone)):
            check.add("phone", problem)
        if check.require(r.employer_name.strip(), "employer.name") and (
            problem := v.check_display_text(r.employer_name, minimum=2, maximum=100)
        ):
            check.add("employer.name", problem)
        if check.require(credit_code, "employer.credit_code") and (problem := v.check_credit_code(credit_code)):
            check.add("employer.credit_code", problem)
        if check.require(r.password, "password") and (
            problem := v.check_password(r.password, personal=(national_id, phone))
        ):
            check.add("password", problem)
        check.check()

        password_hash = await self._passwords.hash(r.password)
        user_id = uuid.uuid4()
        region = v.credit_code_region(credit_code)
        id_hash = self._personal.national_id_hash(national_id)
        phone_hash = self._personal.phone_hash(phone)
        async with self._uow.begin() as tx:
            if await tx.session.scalar(select(exists().where(users.c.national_id_hash == id_hash))):
                raise AlreadyExists("an account with this resident ID number exists", field="national_id")
            if await tx.session.scalar(select(exists().where(users.c.phone_hash == phone_hash))):
                raise AlreadyExists("an account with this mobile number exists", field="phone")
            await self._insert(
                tx,
                id=user_id,
                role=Role.TRAINEE.value,
                display_name=name,
                national_id_enc=self._personal.seal_national_id(national_id),
                national_id_hash=id_hash,
                phone_enc=self._personal.seal_phone(phone),
                phone_hash=phone_hash,
                employer_name=r.employer_name.strip(),
                employer_credit_code=credit_code,
                region_code=region,
                password_hash=password_hash,
                created_by=None,
            )
            row = (await tx.session.execute(select(users).where(users.c.id == user_id))).one()
        return self.view(row, None)

    async def _insert(self, tx: Transaction, **values: object) -> None:
        now = tx.now()
        try:
            async with tx.session.begin_nested():
                await tx.session.execute(users.insert().values(**values, created_at=now, password_changed_at=now))
        except IntegrityError as exc:
            text = str(exc.orig)
            if "national_id_hash" in text:
                raise AlreadyExists("an account with this resident ID number exists", field="national_id") from None
            if "phone_hash" in text:
                raise AlreadyExists("an account with this mobile number exists", field="phone") from None
            if "username" in text:
                raise AlreadyExists("this username is taken", field="username") from None
            raise
        await tx.emit(
            Event(
                subject=USER_REGISTERED,
                key=str(values["id"]),
                message=events.UserRegistered(
                    user_id=str(values["id"]),
                    role=role_to_proto(Role(str(values["role"]))),
                    institution_id=str(values.get("institution_id") or ""),
                    region_code=str(values.get("region_code") or ""),
                    employer_credit_code=str(values.get("employer_credit_code") or ""),
                    registered_at=timestamp(now),
                ),
            )
        )

    async def create_account(self, creator: Principal, a: NewAccount) -> UserView:
        check = Validator()
        role = a.role
        if role is None:
            check.add("role", "is required")
        elif role in (Role.TRAINEE, Role.SERVICE):
            check.add("role", f"{role.value} accounts are not created here")
        username = a.username.strip()
        if check.require(username, "username") and (problem := v.check_username(username)):
            check.add("username", problem)
        if check.require(a.display_name, "display_name") and (
            problem := v.check_display_text(a.display_name, minimum=2, maximum=60)
        ):
            check.add("display_name", problem)
        phone = v.normalize_phone(a.phone) if a.phone.strip() else ""
        if phone and (problem := v.check_phone(phone)):
            check.add("phone", problem)
        if check.require(a.password, "password") and (
            problem := v.check_password(a.password, personal=(username, phone))
        ):
            check.add("password", problem)
        institution_id: uuid.UUID | None = None
        region_code: str | None = None
        employer_name = employer_code = None
        if role in INSTITUTION_ROLES:
            raw = a.institution_id.strip() or (
                creator.institution_id or "" if creator.role is Role.INSTITUTION_ADMIN else ""
            )
            if check.require(raw, "institution_id"):
                try:
                    institution_id = parse_uuid(raw, "institution_id")
                except Exception:
                    check.add("institution_id", "must be a UUID")
        elif a.institution_id.strip():
            check.add("institution_id", f"must be empty for {role.value if role else 'this'} accounts")
        if role in (Role.REGULATOR, Role.EXAM_INSTITUTION):
            if check.require(a.region_code, "region_code") and (problem := v.check_region_code(a.region_code)):
                check.add("region_code", problem)
            region_code = a.region_code
        elif a.region_code:
            check.add("region_code", f"must be empty for {role.value if role else 'this'} accounts")
        if role is Role.EMPLOYER:
            employer_code = v.normalize_credit_code(a.employer_credit_code)
            employer_name = a.employer_name.strip()
            if check.require(employer_name, "employer.name") and (
                problem := v.check_display_text(employer_name, minimum=2, maximum=100)
            ):
                check.add("employer.name", problem)
            if check.require(employer_code, "employer.credit_code") and (problem := v.check_credit_code(employer_code)):
                check.add("employer.credit_code", problem)
            if not check.failed("employer.credit_code"):
                region_code = v.credit_code_region(employer_code)
        elif a.employer_credit_code or a.employer_name:
            check.add("employer", f"must be empty for {role.value if role else 'this'} accounts")
        check.check()
        assert role is not None
        ensure_may_create(creator, role, str(institution_id) if institution_id else None)

        password_hash = await self._passwords.hash(a.password)
        user_id = uuid.uuid4()
        async with self._uow.begin() as tx:
            if institution_id is not None:
                inst = (
                    await tx.session.execute(
                        select(institutions.c.status, institutions.c.region_code).where(
                            institutions.c.id == institution_id
                        )
                    )
                ).one_or_none()
                if inst is None:
                    raise NotFound("institution", str(institution_id))
                if inst.status != InstitutionStatus.ACTIVE:
                    raise FailedPrecondition(
                        "INSTITUTION_NOT_ACTIVE", f"the institution is {inst.status}; it gets no new accounts"
                    )
                region_code = inst.region_code
            if phone and await tx.session.scalar(
                select(exists().where(users.c.phone_hash == self._personal.phone_hash(phone)))
            ):
                raise AlreadyExists("an account with this mobile number exists", field="phone")
            if await tx.session.scalar(select(exists().where(users.c.username == username))):
                raise AlreadyExists("this username is taken", field="username")
            await self._insert(
                tx,
                id=user_id,
                role=role.value,
                display_name=a.display_name.strip(),
                username=username,
                phone_enc=self._personal.seal_phone(phone) if phone else None,
                phone_hash=self._personal.phone_hash(phone) if phone else None,
                employer_name=employer_name,
                employer_credit_code=employer_code,
                institution_id=institution_id,
                region_code=region_code,
                password_hash=password_hash,
                created_by=creator.subject,
            )
            row = (await tx.session.execute(select(users).where(users.c.id == user_id))).one()
        return self.view(row, creator)

    async def get_user(self, viewer: Principal, user_id: str) -> UserView:
        uid = parse_uuid(user_id, "user_id")
        async with self._uow.read() as session:
            row = (await session.execute(select(users).where(users.c.id == uid))).one_or_none()
            enrolled = await _enrollments(session, [uid]) if row is not None else {}
        if row is None or not may_view(viewer, _account(row, enrolled.get(uid, frozenset()))):
            raise NotFound("user", user_id)
        return self.view(row, viewer)

    async def list_users(
        self, viewer: Principal, *, page_size: int, page_token: str, role: Role | None, institution_id: str
    ) -> ListPage[UserView]:
        page = parse_page(page_size, page_token)
        query = select(users)
        scope = self._scope(viewer)
        if scope is not None:
            query = query.where(scope)
        if role is not None:
            query = query.where(users.c.role == role.value)
        if institution_id:
            wanted = parse_uuid(institution_id, "institution_id")
            query = query.where(or_(users.c.institution_id == wanted, _enrolled_with_institution(wanted)))
        if page.after is not None:
            created, last_id = page.after
            query = query.where(
                or_(users.c.created_at < created, and_(users.c.created_at == created, users.c.id < last_id))
            )
        query = query.order_by(users.c.created_at.desc(), users.c.id.desc()).limit(page.size + 1)
        async with self._uow.read() as session:
            rows = (await session.execute(query)).all()
            more = len(rows) > page.size
            rows = rows[: page.size]
            enrolled = await _enrollments(session, [row.id for row in rows])
        # The SQL scope and the domain rule must agree; the domain rule has the last word.
        items = [
            self.view(row, viewer) for row in rows if may_view(viewer, _account(row, enrolled.get(row.id, frozenset())))
        ]
        token = next_token(rows[-1].created_at, rows[-1].id) if more and rows else ""
        return ListPage(items=items, next_page_token=token)

    @staticmethod
    def _scope(viewer: Principal):  # type: ignore[no-untyped-def]
        """The SQL form of `may_view`, so paging never returns rows the viewer may not see."""
        own = users.c.id == _uuid_or_none(viewer.subject)
        if viewer.role in (Role.OPERATOR, Role.SERVICE):
            return None
        if viewer.role is Role.REGULATOR and viewer.region_code:
            prefix = region_prefix(viewer.region_code)
            enrolled_in_region = users.c.id.in_(
                select(trainee_enrollments.c.user_id).where(trainee_enrollments.c.region_code.startswith(prefix))
            )
            return or_(own, users.c.region_code.startswith(prefix), enrolled_in_region)
        if viewer.role in INSTITUTION_ROLES and viewer.institution_id:
            institution = _uuid_or_none(viewer.institution_id)
            return or_(own, users.c.institution_id == institution, _enrolled_with_institution(institution))
        if viewer.role is Role.EMPLOYER and viewer.employer_code:
            return or_(
                own, and_(users.c.role == Role.TRAINEE.value, users.c.employer_credit_code == viewer.employer_code)
            )
        return own


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None
