"""What the fuzz suite covers, read from the generated descriptors and the docs, never listed by hand.

- `declared_services()`: every gRPC service of every `training.*` proto package (the generated
  `*_pb2` modules are all imported first, so a new proto file or RPC is covered without a change here).
- `documented_codes(service)`: the status codes a service's doc lists in its "Status codes" section,
  plus those docs/architecture.md lists for every service.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from functools import cache
from pathlib import Path

import grpc
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor

import training

DOCS = Path(__file__).resolve().parents[2] / "docs"
# Services declared in proto/ that no running service serves yet, with why. A listed service that
# becomes served is simply fuzzed; test_completeness checks every name here is still declared.
NOT_SERVED: dict[str, str] = {}


@cache
def declared_services() -> tuple[ServiceDescriptor, ...]:
    """Every service in the generated `training` package, imported module by module."""
    found: dict[str, ServiceDescriptor] = {}
    for module_info in pkgutil.walk_packages(training.__path__, prefix="training."):
        if not module_info.name.endswith("_pb2"):
            continue
        module = importlib.import_module(module_info.name)
        for service in module.DESCRIPTOR.services_by_name.values():
            found[service.full_name] = service
    return tuple(found[name] for name in sorted(found))


def declared_methods() -> list[MethodDescriptor]:
    return [method for service in declared_services() for method in service.methods]


def method_id(method: MethodDescriptor) -> str:
    return f"{method.containing_service.name}/{method.name}"


def path_of(method: MethodDescriptor) -> str:
    return f"/{method.containing_service.full_name}/{method.name}"


_SECTION = re.compile(r"^(#+) Status codes\b.*$", re.MULTILINE)
_CODE = re.compile(r"`([A-Z_]+)`")


def _codes_in_section(text: str, source: Path) -> set[grpc.StatusCode]:
    heading = _SECTION.search(text)
    if heading is None:
        raise AssertionError(f"{source} has no 'Status codes' section")
    level = len(heading.group(1))
    rest = text[heading.end() :]
    end = re.search(rf"^#{{1,{level}}} ", rest, re.MULTILINE)
    section = rest[: end.start()] if end else rest
    codes = {grpc.StatusCode[name] for name in _CODE.findall(section) if name in grpc.StatusCode.__members__}
    if not codes:
        raise AssertionError(f"the 'Status codes' section of {source} names no status code")
    return codes


@cache
def documented_codes(context: str) -> frozenset[grpc.StatusCode]:
    """The codes `context` (identity, courses, ...) may answer: its doc's list and the common list."""
    common = DOCS / "architecture.md"
    own = DOCS / f"{context}.md"
    return frozenset(
        {grpc.StatusCode.OK}
        | _codes_in_section(common.read_text(encoding="utf-8"), common)
        | _codes_in_section(own.read_text(encoding="utf-8"), own)
    )
