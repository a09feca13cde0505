"""Errors the domain and application layers raise. Pure Python: the gRPC layer maps them to status
codes with rich details (see `training_runtime.server.status`)."""

from __future__ import annotations

from collections.abc import Mapping, Sized
from dataclasses import dataclass


class DomainError(Exception):
    """Base of every expected failure; `message` is safe to show to the caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


MAX_VIOLATIONS_IN_MESSAGE = 10
# Field violations sent as google.rpc.BadRequest details at most (server/status.py).
MAX_VIOLATIONS_IN_DETAILS = 100


class InvalidArgument(DomainError):
    """Bad input: names every offending field (dotted path into the request).

    `reason` optionally adds a stable UPPER_SNAKE code (sent as ErrorInfo) for input a client must
    tell apart by machine, e.g. IMAGE_TRUNCATED versus IMAGE_FORMAT_UNSUPPORTED.
    """

    def __init__(
        self,
        violations: list[FieldViolation] | FieldViolation | str,
        description: str | None = None,
        *,
        reason: str | None = None,
    ) -> None:
        if isinstance(violations, str):
            if description is None:
                raise TypeError("InvalidArgument(field, description) needs a description")
            violations = [FieldViolation(violations, description)]
        elif isinstance(violations, FieldViolation):
            violations = [violations]
        if not violations:
            raise ValueError("InvalidArgument needs at least one violation")
        self.violations = list(violations)
        self.reason = reason
        # A request with thousands of bad items gets a bounded answer (the first ones say what is wrong).
        shown = "; ".join(f"{v.field}: {v.description}" for v in self.violations[:MAX_VIOLATIONS_IN_MESSAGE])
        hidden = len(self.violations) - MAX_VIOLATIONS_IN_MESSAGE
        super().__init__(shown + (f"; and {hidden} more" if hidden > 0 else ""))


class NotFound(DomainError):
    def __init__(self, what: str, identifier: str = "") -> None:
        super().__init__(f"{what} {identifier!r} not found" if identifier else f"{what} not found")
        self.what = what


class AlreadyExists(DomainError):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class FailedPrecondition(DomainError):
    """A rule forbids the call in the current state; `reason` is a stable UPPER_SNAKE code."""

    def __init__(self, reason: str, message: str, *, metadata: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.metadata = dict(metadata or {})


class PermissionDenied(DomainError):
    def __init__(self, message: str = "the caller may not do this") -> None:
        super().__init__(message)


class Unauthenticated(DomainError):
    def __init__(self, message: str = "a valid access token is required", *, reason: str = "UNAUTHENTICATED") -> None:
        super().__init__(message)
        self.reason = reason


class ResourceExhausted(DomainError):
    def __init__(self, message: str, *, retry_after_seconds: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class Aborted(DomainError):
    """A concurrent change won; the caller may retry."""


class Unavailable(DomainError):
    """A dependency does not answer; the caller may retry."""


class Validator:
    """Collects field violations so a request reports every bad field at once.

    >>> v = Validator(); v.require(name, "display_name"); v.check()
    """

    def __init__(self) -> None:
        self.violations: list[FieldViolation] = []

    def add(self, field: str, description: str) -> None:
        self.violations.append(FieldViolation(field, description))

    def require(self, value: object, field: str, description: str = "is required") -> bool:
        if value in (None, "", b"", 0) or (isinstance(value, str) and not value.strip()):
            self.add(field, description)
            return False
        return True

    def within(self, values: Sized, field: str, maximum: int) -> bool:
        """False (and a violation) when `values` has more than `maximum` items: check no item then."""
        if len(values) > maximum:
            self.add(field, f"has {len(values)} items; at most {maximum}")
            return False
        return True

    def failed(self, field: str) -> bool:
        return any(v.field == field or v.field.startswith(field + ".") for v in self.violations)

    def check(self) -> None:
        if self.violations:
            raise InvalidArgument(self.violations)
