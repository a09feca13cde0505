"""Requests that do not decode: a clear INVALID_ARGUMENT naming the field, instead of gRPC's UNKNOWN.

gRPC decodes a request before any handler or interceptor code runs, and a decoding failure (corrupt
wire data, invalid UTF-8 in a string field, nesting beyond the parser's limit) surfaces as UNKNOWN
with the parser's exception text. The server interceptor installs `tolerant` deserializers, which
hand such a request on as an `Undecodable`; once the caller is authenticated, the interceptor
answers it with `Undecodable.error()`, which names the first offending field found by walking the
wire data against the message's descriptor. A request that decodes but holds what no RPC accepts
(a list of more than `MAX_LIST_ITEMS` items, a NUL character, an impossible timestamp) is refused
there too (`refusal`), before any handler converts or stores it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from training_runtime import errors

REASON = "REQUEST_UNDECODABLE"
# Items any one list of a request may hold, whatever the RPC (services set smaller limits of their
# own): a few megabytes of empty items are a million objects to convert and check.
MAX_LIST_ITEMS = 10_000
# Deeper than this is refused without walking further (the parser's own limit is 100).
_MAX_DEPTH = 100


class Undecodable:
    """What a tolerant deserializer returns for bytes that are not a valid request message."""

    __slots__ = ("data", "descriptor", "problem")

    def __init__(self, data: bytes, descriptor: Descriptor | None, problem: str) -> None:
        self.data = data
        self.descriptor = descriptor
        self.problem = problem

    def error(self) -> errors.InvalidArgument:
        name = self.descriptor.full_name if self.descriptor is not None else "request"
        found = first_problem(self.descriptor, self.data) if self.descriptor is not None else None
        field, description = found or ("request", f"is not a valid {name} message ({self.problem})")
        return errors.InvalidArgument(field, description, reason=REASON)


def tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """Wrap a request deserializer so that undecodable bytes become an `Undecodable`."""
    if deserializer is None:
        return None
    message_class = getattr(deserializer, "__self__", None)
    descriptor = getattr(message_class, "DESCRIPTOR", None)

    def deserialize(data: bytes) -> Any:
        try:
            return deserializer(data)
        except Exception as exc:  # the parser's DecodeError, or anything a custom deserializer raises
            return Undecodable(data, descriptor if isinstance(descriptor, Descriptor) else None, str(exc))

    return deserialize


def refusal(message: Message, path: str = "") -> errors.InvalidArgument | None:
    """The refusal of what no RPC accepts, naming the first field (nested messages included) that
    holds it: a list over `MAX_LIST_ITEMS`, a string with a NUL character (PostgreSQL cannot store
    one), a timestamp outside 0001-01-01..9999-12-31 or with nanos outside 0..999999999."""
    if message.DESCRIPTOR.full_name == "google.protobuf.Timestamp":
        return _timestamp_refusal(message, path)
    for field, value in message.ListFields():
        here = _join(path, field.name)
        items = value if field.is_repeated else (value,)
        if field.is_repeated and len(value) > MAX_LIST_ITEMS:
            return errors.InvalidArgument(here, f"has {len(value)} items; at most {MAX_LIST_ITEMS}")
        if field.type == FieldDescriptor.TYPE_STRING:
            for i, item in enumerate(items):
                if "\x00" in item:
                    return errors.InvalidArgument(_item(here, i, field), "must not contain NUL characters")
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            for i, item in enumerate(items):
                if found := refusal(item, _item(here, i, field)):
                    return found
    return None


def _item(path: str, index: int, field: FieldDescriptor) -> str:
    return f"{path}[{index}]" if field.is_repeated else path


# google.protobuf.Timestamp's documented range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z.
_SECONDS = (-62_135_596_800, 253_402_300_799)


def _timestamp_refusal(value: Message, path: str) -> errors.InvalidArgument | None:
    seconds, nanos = value.seconds, value.nanos  # type: ignore[attr-defined]
    if not _SECONDS[0] <= seconds <= _SECONDS[1] or not 0 <= nanos <= 999_999_999:
        return errors.InvalidArgument(path or "request", "must be a time from year 1 to year 9999")
    return None


class _Corrupt(Exception):
    def __init__(self, path: str, description: str) -> None:
        super().__init__(description)
        self.path = path
        self.description = description


def first_problem(descriptor: Descriptor, data: bytes) -> tuple[str, str] | None:
    """(field path, description) of the first thing in `data` that is not a valid `descriptor`."""
    try:
        _walk(descriptor, memoryview(data), "", 0)
    except _Corrupt as problem:
        return problem.path or "request", problem.description
    return None


def _varint(data: memoryview, at: int, path: str) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data) or shift > 63:
            raise _Corrupt(path, "the wire data ends inside a varint or the varint is too long")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _walk(descriptor: Descriptor | None, data: memoryview, path: str, depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise _Corrupt(path, f"nests messages more than {_MAX_DEPTH} levels deep")
    at = 0
    while at < len(data):
        key, at = _varint(data, at, path)
        number, wire_type = key >> 3, key & 7
        field = descriptor.fields_by_number.get(number) if descriptor is not None else None
        here = _join(path, field.name if field is not None else f"#{number}")
        if number == 0:
            raise _Corrupt(path, "has a field numbered 0")
        if wire_type == 0:
            _, at = _varint(data, at, here)
        elif wire_type == 1 or wire_type == 5:
            at += 8 if wire_type == 1 else 4
            if at > len(data):
                raise _Corrupt(here, "the wire data ends inside a fixed-width value")
        elif wire_type == 2:
            length, at = _varint(data, at, here)
            if at + length > len(data):
                raise _Corrupt(here, "the wire data ends inside a length-delimited value")
            _check_delimited(field, data[at : at + length], here, depth)
            at += length
        elif wire_type == 3:
            at = _skip_group(data, at, number, here, depth + 1)
        elif wire_type == 4:
            raise _Corrupt(here, "ends a group that was never started")
        else:
            raise _Corrupt(here, f"has an invalid wire type {wire_type}")


def _check_delimited(field: FieldDescriptor | None, value: memoryview, path: str, depth: int) -> None:
    if field is None:
        return  # unknown fields are kept as bytes
    if field.type == FieldDescriptor.TYPE_STRING:
        try:
            str(value, "utf-8")
        except UnicodeDecodeError:
            raise _Corrupt(path, "is not valid UTF-8") from None
    elif field.type == FieldDescriptor.TYPE_MESSAGE:
        _walk(field.message_type, value, path, depth + 1)


def _skip_group(data: memoryview, at: int, number: int, path: str, depth: int) -> int:
    if depth > _MAX_DEPTH:
        raise _Corrupt(path, f"nests groups more than {_MAX_DEPTH} levels deep")
    while at < len(data):
        key, at = _varint(data, at, path)
        inner, wire_type = key >> 3, key & 7
        if wire_type == 4:
            if inner != number:
                raise _Corrupt(path, "has a group that ends with the wrong field number")
            return at
        if wire_type == 0:
            _, at = _varint(data, at, path)
        elif wire_type in (1, 5):
            at += 8 if wire_type == 1 else 4
        elif wire_type == 2:
            length, at = _varint(data, at, path)
            at += length
        elif wire_type == 3:
            at = _skip_group(data, at, inner, path, depth + 1)
        else:
            raise _Corrupt(path, f"has an invalid wire type {wire_type}")
        if at > len(data):
            raise _Corrupt(path, "the wire data ends inside a group")
    raise _Corrupt(path, "has a group that is never closed")
