"""The fuzz suite covers every RPC: its list comes from the generated descriptors, every declared
service is served by a running service (or listed as not served yet), each of the six services
serves its own, and each service's doc lists the status codes it may answer."""

from __future__ import annotations

from pathlib import Path

import grpc

from .catalogue import NOT_SERVED, declared_methods, declared_services, documented_codes
from .conftest import APPS, Platform

PROTO = Path(__file__).resolve().parents[2] / "proto"


def test_every_rpc_in_proto_is_enumerated() -> None:
    written = {
        line.split("rpc ", 1)[1].split("(", 1)[0].strip()
        for path in PROTO.rglob("*.proto")
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip().startswith("rpc ")
    }
    assert {method.name for method in declared_methods()} == written
    assert written, "no rpc found in proto/"


async def test_every_declared_service_is_served_or_listed(platform: Platform) -> None:
    declared = {service.full_name for service in declared_services()}
    unserved = {name for name in declared if not platform.serving(name)}
    assert unserved <= set(NOT_SERVED), f"declared in proto/ but served by no service: {unserved - set(NOT_SERVED)}"
    assert set(NOT_SERVED) <= declared, "NOT_SERVED names a service proto/ no longer declares"
    for name in APPS:
        own = platform.apps[name].app.definition.grpc_service
        assert own in platform.apps[name].services, f"{name} does not serve {own}"


def test_each_service_documents_its_status_codes() -> None:
    for name in APPS:
        codes = documented_codes(name)
        assert grpc.StatusCode.INVALID_ARGUMENT in codes
        assert grpc.StatusCode.UNAUTHENTICATED in codes
        assert not codes & {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
