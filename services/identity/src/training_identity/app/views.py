"""What the application layer returns: plain records the API layer turns into protobuf."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from training_identity.domain.institutions import InstitutionStatus
from training_runtime.auth.principal import Role
from training_runtime.vocabulary import QualificationType


@dataclass(frozen=True)
class UserView:
    user_id: str
    role: Role
    display_name: str
    username: str
    national_id: str
    phone: str
    employer_name: str
    employer_credit_code: str
    institution_id: str
    region_code: str
    created_at: datetime
    unmasked: bool


@dataclass(frozen=True)
class InstitutionView:
    institution_id: str
    name: str
    credit_code: str
    region_code: str
    qualification_types: list[QualificationType]
    operation_types: list[str]
    status: InstitutionStatus
    status_reason: str
    created_at: datetime
    status_changed_at: datetime


@dataclass(frozen=True)
class Tokens:
    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime


T = TypeVar("T")


@dataclass(frozen=True)
class ListPage(Generic[T]):
    items: list[T] = field(default_factory=list)
    next_page_token: str = ""
