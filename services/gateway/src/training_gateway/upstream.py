"""The services behind the gateway: one traced, retrying channel each, calls with the caller's
bearer token passed through unchanged, and readiness from their standard health service."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from training_gateway.settings import GatewaySettings
from training_runtime.clients import insecure_channel

T = TypeVar("T")


@dataclass
class Upstreams:
    """Channels to identity, courses, learning, exams and certificates, made when the app starts."""

    settings: GatewaySettings
    channels: dict[str, grpc.aio.Channel] = field(default_factory=dict)

    @property
    def targets(self) -> dict[str, str]:
        s = self.settings
        return {
            "identity": s.identity_url,
            "courses": s.courses_url,
            "learning": s.learning_url,
            "exams": s.exams_url,
            "certificates": s.certificates_url,
        }

    def open(self) -> None:
        for name, target in self.targets.items():
            self.channels[name] = insecure_channel(target)

    async def close(self) -> None:
        for channel in self.channels.values():
            await channel.close()
        self.channels.clear()

    def stub(self, service: str, stub_class: type[T]) -> T:
        return stub_class(self.channels[service])  # type: ignore[call-arg]

    async def call(self, method: Any, request: Any, authorization: str | None) -> Any:
        """One unary call with the caller's `authorization` header (if any) and the upstream deadline."""
        metadata = (("authorization", authorization),) if authorization else ()
        return await method(request, metadata=metadata, timeout=self.settings.upstream_timeout_seconds)

    async def serving(self, service: str, timeout: float = 2.0) -> bool:
        stub = health_pb2_grpc.HealthStub(self.channels[service])
        try:
            answer = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout)
        except grpc.RpcError:
            return False
        return answer.status == health_pb2.HealthCheckResponse.SERVING

    async def readiness(self, services: list[str]) -> dict[str, bool]:
        answers = await asyncio.gather(*(self.serving(name) for name in services))
        return dict(zip(services, answers, strict=True))
