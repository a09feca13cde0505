"""Hypothesis strategies for protobuf requests, built from message descriptors alone, and hostile wire data.

- `messages(descriptor, known)`: messages of any request type. Strings are real ids from the fuzz
  world (by field name) or uuids, unicode, empty, blank, injection-looking or huge; integers at their
  type's bounds; enums including values the schema does not declare; repeated fields empty, short or
  huge; nested messages and timestamps (out of range ones too).
- `mutated(data)`: serialized bytes with bit flips, truncation, cut, inserted or repeated spans.
- `oversized`, `deeply_nested`, `with_invalid_utf8`, `with_huge_repeated`: raw wire data the typed
  client would never send.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st

F = FieldDescriptor
INT_BOUNDS = {
    F.TYPE_INT32: (-(2**31), 2**31 - 1),
    F.TYPE_SINT32: (-(2**31), 2**31 - 1),
    F.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    F.TYPE_INT64: (-(2**63), 2**63 - 1),
    F.TYPE_SINT64: (-(2**63), 2**63 - 1),
    F.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    F.TYPE_UINT32: (0, 2**32 - 1),
    F.TYPE_FIXED32: (0, 2**32 - 1),
    F.TYPE_UINT64: (0, 2**64 - 1),
    F.TYPE_FIXED64: (0, 2**64 - 1),
}
ODD_STRINGS = (
    " ",
    "\t\n",
    "\x00",
    "'; DROP TABLE users; --",
    "%_\\",
    "../../etc/passwd",
    "\u202eevil",
    "😀" * 8,
    "ｆｕｌｌｗｉｄｔｈ",
    "9" * 30,
    "-1",
    "1e309",
    "NaN",
    "440106",
    "440000",
    "00000000-0000-0000-0000-000000000000",
    "2026-13-45",
)
HUGE_REPEATED = 20_000
DEPTH_LIMIT = 3


def message_class(descriptor: Descriptor) -> type[Message]:
    return message_factory.GetMessageClass(descriptor)


def _strings(field: FieldDescriptor, known: Mapping[str, Sequence[str]], *, small: bool) -> st.SearchStrategy[str]:
    choices: list[st.SearchStrategy[str]] = [
        st.uuids().map(str),
        st.just(""),
        st.text(max_size=24),
        st.sampled_from(ODD_STRINGS),
    ]
    if not small:
        choices.append(st.integers(10_000, 200_000).map(lambda n: "训" * n))
    real = known.get(field.name) or known.get(field.name.removesuffix("s"))
    if real:
        choices.insert(0, st.sampled_from(list(real)))
    return st.one_of(choices)


def _timestamps(descriptor: Descriptor) -> st.SearchStrategy[Message]:
    cls = message_class(descriptor)
    seconds = st.one_of(
        st.integers(1_600_000_000, 1_900_000_000),
        st.sampled_from([0, -1, -62135596800, 253402300799, 253402300800, -(2**63), 2**63 - 1]),
    )
    nanos = st.one_of(st.just(0), st.sampled_from([-1, 999_999_999, 1_000_000_000, -(2**31), 2**31 - 1]))
    return st.builds(lambda s, n: cls(seconds=s, nanos=n), seconds, nanos)


def _scalar(
    field: FieldDescriptor, known: Mapping[str, Sequence[str]], depth: int, *, small: bool = False
) -> st.SearchStrategy[object]:
    """Values of one field; `small` ones (elements of a huge list) are never huge themselves."""
    kind = field.type
    if kind == F.TYPE_STRING:
        return _strings(field, known, small=small)
    if kind == F.TYPE_BYTES:
        return st.one_of(st.just(b""), st.binary(max_size=64), st.sampled_from([b"\xff\xd8\xff\xe0", b"\x89PNG\r\n"]))
    if kind == F.TYPE_BOOL:
        return st.booleans()
    if kind in INT_BOUNDS:
        low, high = INT_BOUNDS[kind]
        return st.one_of(st.sampled_from([0, 1, -1 if low < 0 else 2, low, high]), st.integers(low, high))
    if kind in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
        return st.floats(width=64 if kind == F.TYPE_DOUBLE else 32)
    if kind == F.TYPE_ENUM:
        declared = [value.number for value in field.enum_type.values]
        return st.one_of(st.sampled_from(declared), st.integers(-(2**31), 2**31 - 1))
    if kind == F.TYPE_MESSAGE:
        if small:
            return st.just(message_class(field.message_type)())
        return messages(field.message_type, known, depth + 1)
    raise AssertionError(f"no strategy for field type {kind} ({field.full_name})")


def _repeated(
    field: FieldDescriptor, known: Mapping[str, Sequence[str]], depth: int
) -> st.SearchStrategy[list[object]]:
    """Empty, a few values, or a huge list of one small value."""
    count = 2_000 if field.type == F.TYPE_MESSAGE else HUGE_REPEATED
    huge = st.builds(lambda one: [one] * count, _scalar(field, known, depth, small=True))
    few = st.lists(_scalar(field, known, depth, small=depth > 0), max_size=3)
    return st.one_of(few, huge)


def messages(descriptor: Descriptor, known: Mapping[str, Sequence[str]], depth: int = 0) -> st.SearchStrategy[Message]:
    """Messages of type `descriptor`; each field is set or left unset."""
    if descriptor.full_name == "google.protobuf.Timestamp":
        return _timestamps(descriptor)
    cls = message_class(descriptor)
    if depth > DEPTH_LIMIT:
        return st.just(cls())
    fields = {}
    for field in descriptor.fields:
        value = _repeated(field, known, depth) if field.is_repeated else _scalar(field, known, depth, small=depth > 1)
        fields[field.name] = st.one_of(st.none(), value)

    def build(values: dict[str, object]) -> Message:
        message = cls()
        for name, value in values.items():
            if value is None:
                continue
            field = descriptor.fields_by_name[name]
            if field.is_repeated:
                getattr(message, name).extend(value)  # type: ignore[arg-type]
            elif field.type == F.TYPE_MESSAGE:
                getattr(message, name).CopyFrom(value)
            else:
                setattr(message, name, value)
        return message

    return st.fixed_dictionaries(fields).map(build)


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """`data` with one to four random edits of its bytes."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        operation = draw(st.sampled_from(["flip", "truncate", "cut", "insert", "repeat", "set"]))
        if not out:
            out.extend(draw(st.binary(min_size=1, max_size=8)))
            continue
        at = draw(st.integers(0, len(out) - 1))
        if operation == "flip":
            out[at] ^= 1 << draw(st.integers(0, 7))
        elif operation == "truncate":
            del out[at:]
        elif operation == "cut":
            del out[at : at + draw(st.integers(1, 16))]
        elif operation == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif operation == "repeat":
            out[at:at] = out[at : at + draw(st.integers(1, 32))]
        else:
            out[at] = draw(st.sampled_from([0x00, 0x7F, 0x80, 0xFF]))
    return bytes(out)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(number: int, wire_type: int) -> bytes:
    return _varint(number << 3 | wire_type)


def delimited(number: int, payload: bytes) -> bytes:
    return _key(number, 2) + _varint(len(payload)) + payload


UNKNOWN_FIELD = 9_999


def oversized(base: bytes, limit: int) -> bytes:
    """`base` plus an unknown bytes field that takes it past `limit`."""
    return base + delimited(UNKNOWN_FIELD, b"\x00" * (limit + 1024))


def _deepest_path(descriptor: Descriptor, seen: tuple[str, ...] = ()) -> list[FieldDescriptor]:
    """The longest chain of message-typed fields from `descriptor` (a recursive schema stops at 50)."""
    best: list[FieldDescriptor] = []
    for field in descriptor.fields:
        if field.type != F.TYPE_MESSAGE or field.message_type.full_name.startswith("google.protobuf."):
            continue
        if len(seen) >= 50:
            break
        below = [field, *_deepest_path(field.message_type, (*seen, field.message_type.full_name))]
        if len(below) > len(best):
            best = below
    return best


def deeply_nested(descriptor: Descriptor, levels: int = 5_000) -> Iterator[tuple[str, bytes]]:
    """(what, wire data) for the deepest nesting the schema allows, then nesting it does not know.

    The schema's own chain of message fields ends in thousands of nested length-delimited fields
    (which the parser keeps as unknown bytes) and, separately, in thousands of nested groups (which
    it must parse to skip).
    """
    path = _deepest_path(descriptor)
    inner_ld = b""
    for _ in range(levels):
        inner_ld = delimited(1, inner_ld)
    groups = _key(1, 3) * levels + _key(1, 4) * levels

    def wrap(payload: bytes) -> bytes:
        for field in reversed(path):
            payload = delimited(field.number, payload)
        return payload

    yield f"{len(path)} schema levels, then {levels} length-delimited", wrap(delimited(UNKNOWN_FIELD, inner_ld))
    yield f"{len(path)} schema levels, then {levels} groups", wrap(groups)


def fields_of(
    descriptor: Descriptor, wanted: Callable[[FieldDescriptor], bool], prefix: str = "", depth: int = 0
) -> Iterator[tuple[str, list[int]]]:
    """(dotted name, field numbers from the top) of every `wanted` field, nested messages included."""
    for field in descriptor.fields:
        name = f"{prefix}{field.name}"
        if wanted(field):
            yield name, [field.number]
        elif field.type == F.TYPE_MESSAGE and depth < 2 and not field.message_type.full_name.startswith("google."):
            for inner, numbers in fields_of(field.message_type, wanted, f"{name}.", depth + 1):
                yield inner, [field.number, *numbers]


def string_fields(descriptor: Descriptor) -> Iterator[tuple[str, list[int]]]:
    return fields_of(descriptor, lambda field: field.type == F.TYPE_STRING)


def timestamp_fields(descriptor: Descriptor) -> Iterator[tuple[str, list[int]]]:
    return fields_of(
        descriptor,
        lambda field: field.type == F.TYPE_MESSAGE and field.message_type.full_name == "google.protobuf.Timestamp",
    )


def with_value(base: bytes, numbers: list[int], value: bytes) -> bytes:
    """`base` plus `value` as the length-delimited field at `numbers` (a later value wins or merges)."""
    payload = delimited(numbers[-1], value)
    for number in reversed(numbers[:-1]):
        payload = delimited(number, payload)
    return base + payload


# A lone continuation byte, then a truncated two-byte sequence: not UTF-8.
INVALID_UTF8 = b"ok\x80\xc3("


def repeated_fields(descriptor: Descriptor) -> Iterator[FieldDescriptor]:
    for field in descriptor.fields:
        if field.is_repeated:
            yield field


def with_huge_repeated(base: bytes, field: FieldDescriptor, known: Mapping[str, Sequence[str]], budget: int) -> bytes:
    """`base` plus as many elements of repeated `field` as fit in `budget` bytes."""
    if field.type == F.TYPE_STRING:
        real = known.get(field.name) or known.get(field.name.removesuffix("s")) or ["x"]
        one = delimited(field.number, real[0].encode())
    elif field.type in (F.TYPE_MESSAGE, F.TYPE_BYTES):
        one = delimited(field.number, b"")
    elif field.type in (F.TYPE_DOUBLE, F.TYPE_FIXED64, F.TYPE_SFIXED64):
        one = _key(field.number, 1) + b"\x00" * 8
    elif field.type in (F.TYPE_FLOAT, F.TYPE_FIXED32, F.TYPE_SFIXED32):
        one = _key(field.number, 5) + b"\x00" * 4
    else:
        one = _key(field.number, 0) + b"\x01"
    return base + one * max(1, (budget - len(base)) // len(one))
