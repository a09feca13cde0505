"""Fuzzing every RPC of every service with generated, mutated and hostile requests, as every caller.

For each RPC declared in proto/ (read from the generated descriptors) and each service that serves
it:
- generated requests (strategies.messages) from every role, anonymous included, and the world's people;
- mutated valid requests: a call the world made successfully, its bytes flipped, cut or spliced, sent
  raw so the server sees malformed wire data;
- hostile wire data: a message over the server's receive limit, nesting deeper than any parser allows,
  invalid UTF-8 and a NUL character in each string field, impossible timestamps, huge repeated fields;
- expired, forged, tampered, malformed, empty, wrong-scheme and missing bearer tokens.

Every answer must be a status code the service's doc lists (docs/<service>.md and docs/architecture.md,
"Status codes"), never INTERNAL or UNKNOWN, and a call that fails must leave the service's database
as it was (state.py): same rows in every table, same events in the outbox, except the writes listed
in FAILED_CALLS_WRITE, which the docs say a failed call makes.
"""

from __future__ import annotations

import os
import re

import grpc
import pytest
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import given, settings
from hypothesis import strategies as st

from .catalogue import NOT_SERVED, declared_methods, documented_codes, method_id, path_of
from .conftest import Caller, Platform, Served, World, call_raw
from .state import Snapshot, changed
from .strategies import (
    INVALID_UTF8,
    deeply_nested,
    messages,
    mutated,
    oversized,
    repeated_fields,
    string_fields,
    timestamp_fields,
    with_huge_repeated,
    with_value,
)

pytestmark = pytest.mark.slow

# Examples per RPC and kind; TRAINING_FUZZ_SCALE multiplies them for a longer local run.
SCALE = float(os.environ.get("TRAINING_FUZZ_SCALE", "1"))
GENERATED = max(1, round(8 * SCALE))
MUTATED = max(1, round(8 * SCALE))
NEVER = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}

# Tables a failed call may change, by (service, RPC), each with the documented reason.
FAILED_CALLS_WRITE: dict[tuple[str, str], dict[str, str]] = {
    ("identity", "Login"): {"users": "failed sign-ins are counted and lock the account (docs/identity.md)"},
    ("identity", "RefreshToken"): {
        "refresh_tokens": "a reused refresh token revokes its whole session, REFRESH_TOKEN_REUSED (docs/identity.md)"
    },
}

METHODS = declared_methods()
_baselines: dict[str, Snapshot] = {}


@pytest.fixture(autouse=True)
def _fresh_baselines() -> None:
    """Each test compares from its own settled snapshot (hypothesis runs a test's examples in one call)."""
    _baselines.clear()


def unindexed(details: str) -> str:
    """`course.lessons[2].title: ...` -> `course.lessons.title: ...` (the suite names fields without indexes)."""
    return re.sub(r"\[\d+\]", "", details)


def targets(platform: Platform, method: MethodDescriptor) -> list[Served]:
    service = method.containing_service.full_name
    served = platform.serving(service)
    if not served:
        assert service in NOT_SERVED, f"{service} is declared in proto/ but no service serves it"
        pytest.skip(f"{service} is not served yet: {NOT_SERVED[service]}")
    return served


async def check(
    served: Served, method: MethodDescriptor, what: str, caller: str, code: grpc.StatusCode, details: str
) -> None:
    """The answer is documented and, if it is a failure, nothing was written."""
    rpc = f"{served.name} {method.name}"
    allowed = documented_codes(served.name)
    assert code not in NEVER, f"{rpc} answered {code.name} to {what} as {caller}: {details}"
    assert code in allowed, f"{rpc} answered undocumented {code.name} to {what} as {caller}: {details}"
    key = f"{served.name}{path_of(method)}"
    before = _baselines.get(key)
    if before is None:
        return
    after = await served.database.snapshot()
    _baselines[key] = after
    if code is grpc.StatusCode.OK:
        return
    exempt = FAILED_CALLS_WRITE.get((served.name, method.name), {})
    written = {table: change for table, change in changed(before, after).items() if table not in exempt}
    assert not written, f"{rpc} failed with {code.name} ({details}) to {what} as {caller} but wrote {written}"


async def settle(platform: Platform, served: Served, method: MethodDescriptor) -> None:
    """Start comparing from a database no earlier call's events or background work are changing."""
    await platform.quiet(served)
    _baselines[f"{served.name}{path_of(method)}"] = await served.database.settled()


def default_caller(served: Served, method: MethodDescriptor, world: World, callers: list[Caller]) -> Caller:
    """Someone the policy lets call `method`, preferably one of the world's people."""
    for caller in [c for c in callers if c.label.startswith("world ")] + callers:
        if served.permits(path_of(method), caller.role):
            return caller
    return callers[0]


def bases(
    served: Served, method: MethodDescriptor, world: World, callers: list[Caller]
) -> list[tuple[bytes, tuple[tuple[str, str], ...]]]:
    """Valid requests the world made, or one built from the world's ids when it made none."""
    recorded = world.corpus.get(path_of(method))
    if recorded:
        return recorded[:4]
    caller = default_caller(served, method, world, callers)
    return [(world.example(method.input_type).SerializeToString(), caller.metadata)]


@pytest.mark.parametrize("method", METHODS, ids=method_id)
@settings(settings.get_profile("fuzz"), max_examples=GENERATED)
@given(data=st.data())
async def test_generated_requests(
    platform: Platform, world: World, callers: list[Caller], method: MethodDescriptor, data: st.DataObject
) -> None:
    for served in targets(platform, method):
        if f"{served.name}{path_of(method)}" not in _baselines:
            await settle(platform, served, method)
        caller = data.draw(st.sampled_from(callers), label="caller")
        request = messages(method.input_type, world.known)
        if method.client_streaming:
            sent = data.draw(st.lists(request, min_size=1, max_size=3), label="requests")
            wire: bytes | list[bytes] = [one.SerializeToString() for one in sent]
        else:
            wire = data.draw(request, label="request").SerializeToString()
        code, details = await call_raw(
            served, path_of(method), wire, caller.metadata, streaming=method.client_streaming
        )
        await check(served, method, "a generated request", caller.label, code, details)


@pytest.mark.parametrize("method", METHODS, ids=method_id)
@settings(settings.get_profile("fuzz"), max_examples=MUTATED)
@given(data=st.data())
async def test_mutated_requests(
    platform: Platform, world: World, callers: list[Caller], method: MethodDescriptor, data: st.DataObject
) -> None:
    for served in targets(platform, method):
        if f"{served.name}{path_of(method)}" not in _baselines:
            await settle(platform, served, method)
        base, metadata = data.draw(st.sampled_from(bases(served, method, world, callers)), label="valid request")
        wire = data.draw(mutated(base), label="mutated bytes")
        caller = "its recorded caller"
        if data.draw(st.booleans(), label="another caller"):
            other = data.draw(st.sampled_from(callers), label="caller")
            caller, metadata = other.label, other.metadata
        code, details = await call_raw(served, path_of(method), wire, metadata, streaming=method.client_streaming)
        await check(served, method, f"mutated bytes {wire[:40]!r}...", caller, code, details)


@pytest.mark.parametrize("method", METHODS, ids=method_id)
async def test_hostile_wire_data(
    platform: Platform, world: World, callers: list[Caller], method: MethodDescriptor
) -> None:
    path = path_of(method)
    for served in targets(platform, method):
        await settle(platform, served, method)
        caller = default_caller(served, method, world, callers)
        base, _ = bases(served, method, world, callers)[0]

        async def send(
            wire: bytes, what: str, served: Served = served, caller: Caller = caller
        ) -> tuple[grpc.StatusCode, str]:
            code, details = await call_raw(served, path, wire, caller.metadata, streaming=method.client_streaming)
            await check(served, method, what, caller.label, code, details)
            return code, details

        code, details = await send(oversized(base, served.max_message_bytes), "a message over the receive limit")
        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED, details
        for what, wire in deeply_nested(method.input_type):
            code, details = await send(base + wire, what)
            if "groups" in what:
                assert code == grpc.StatusCode.INVALID_ARGUMENT, f"{what}: {code.name} {details}"
        for name, numbers in list(string_fields(method.input_type))[:8]:
            for what, value in (("invalid UTF-8", INVALID_UTF8), ("a NUL character", b"a\x00b")):
                code, details = await send(with_value(base, numbers, value), f"{what} in {name}")
                assert code == grpc.StatusCode.INVALID_ARGUMENT, f"{what} in {name}: {code.name} {details}"
                assert unindexed(details).startswith(f"{name}: "), details
        for name, numbers in timestamp_fields(method.input_type):
            for seconds, nanos in ((253_402_300_800, 0), (0, -1)):
                impossible = Timestamp(seconds=seconds, nanos=nanos).SerializeToString()
                code, details = await send(with_value(base, numbers, impossible), f"an impossible {name}")
                assert code == grpc.StatusCode.INVALID_ARGUMENT, f"{name}: {code.name} {details}"
                assert unindexed(details).startswith(f"{name}: "), details
        budget = min(served.max_message_bytes // 2, 2 * 1024 * 1024)
        for repeated in repeated_fields(method.input_type):
            await send(with_huge_repeated(base, repeated, world.known, budget), f"a huge {repeated.name}")


@pytest.mark.parametrize("method", METHODS, ids=method_id)
async def test_bad_bearer_tokens(
    platform: Platform, world: World, callers: list[Caller], bad_tokens: dict, method: MethodDescriptor
) -> None:
    path = path_of(method)
    for served in targets(platform, method):
        await settle(platform, served, method)
        rule = served.app.definition.policy.rule_for(path)
        base, _ = bases(served, method, world, callers)[0]
        for label, metadata in bad_tokens.items():
            code, details = await call_raw(served, path, base, metadata, streaming=method.client_streaming)
            await check(served, method, "a valid request", f"a {label} token", code, details)
            if rule is not None and not rule.public:
                assert code == grpc.StatusCode.UNAUTHENTICATED, f"{label} token: {code.name} {details}"
