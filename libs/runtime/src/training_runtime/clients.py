"""Calling other services: channels with tracing, retries on UNAVAILABLE, deadlines, and a service
token (obtained from identity with this service's client secret) attached to every call.

The client retry policy (docs/operations.md, "Failure behaviour") is the same for the services
calling each other and for any client of the platform:
- every call has a deadline (`DEFAULT_DEADLINE_SECONDS` unless the caller gives one);
- wait for ready: a call made while the server is unreachable (restarting, its pod being replaced)
  waits for a connection within its deadline instead of failing at once;
- a call answered UNAVAILABLE (a server shutting down, or whose database or NATS is unreachable, has
  changed nothing) is retried by gRPC itself, up to 5 attempts with exponential backoff from 0.1 s to
  2 s; so is a call a server answered CANCELLED: gRPC's server gives that answer, not UNAVAILABLE, to
  calls it had received but not yet handed to a handler when it shuts down (grpc/grpc#41785), and
  our services answer CANCELLED for nothing else (a call cut off by the end of the grace period
  rolls its transaction back); every other status is an answer and is never retried;
- a lost connection is re-established after 0.1 s, backing off to at most 2 s.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from opentelemetry.instrumentation.grpc import aio_client_interceptors

from training_runtime.auth.tokens import CachedKeySet
from training_runtime.errors import Unavailable

# Retries a call that never reached a server or found it shutting down: UNAVAILABLE, and CANCELLED
# from the server (a call a shutting-down gRPC server received but never started; a client's own
# cancellation is never retried). Every other status is an answer.
_SERVICE_CONFIG = json.dumps(
    {
        "methodConfig": [
            {
                "name": [{}],
                "retryPolicy": {
                    "maxAttempts": 5,
                    "initialBackoff": "0.1s",
                    "maxBackoff": "2s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE", "CANCELLED"],
                },
            }
        ]
    }
)

# A call without a deadline of its own gets this one (seconds).
DEFAULT_DEADLINE_SECONDS = 30.0

CHANNEL_OPTIONS = [
    ("grpc.enable_retries", 1),
    ("grpc.service_config", _SERVICE_CONFIG),
    # Reconnect soon after a server comes back (gRPC's default starts at 1 s and grows to 120 s).
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2000),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
    ("grpc.max_send_message_length", 16 * 1024 * 1024),
]


def insecure_channel(target: str, *, interceptors: list[Any] | None = None) -> grpc.aio.Channel:
    """A channel with tracing and the retry policy; calls fail at once while the server is unreachable."""
    return grpc.aio.insecure_channel(
        target, options=CHANNEL_OPTIONS, interceptors=[*aio_client_interceptors(), *(interceptors or [])]
    )


def patient_details(details: grpc.aio.ClientCallDetails, metadata: Any = None) -> grpc.aio.ClientCallDetails:
    """The call as the client policy makes it: wait for ready, and the default deadline unless one is given."""
    return grpc.aio.ClientCallDetails(
        details.method,
        details.timeout if details.timeout is not None else DEFAULT_DEADLINE_SECONDS,
        details.metadata if metadata is None else metadata,
        details.credentials,
        details.wait_for_ready if details.wait_for_ready is not None else True,
    )


class _PatientInterceptor(
    grpc.aio.UnaryUnaryClientInterceptor,
    grpc.aio.UnaryStreamClientInterceptor,
    grpc.aio.StreamUnaryClientInterceptor,
    grpc.aio.StreamStreamClientInterceptor,
):
    async def intercept_unary_unary(self, continuation, client_call_details, request):  # type: ignore[no-untyped-def]
        return await continuation(patient_details(client_call_details), request)

    async def intercept_unary_stream(self, continuation, client_call_details, request):  # type: ignore[no-untyped-def]
        return await continuation(patient_details(client_call_details), request)

    async def intercept_stream_unary(self, continuation, client_call_details, request_iterator):  # type: ignore[no-untyped-def]
        return await continuation(patient_details(client_call_details), request_iterator)

    async def intercept_stream_stream(self, continuation, client_call_details, request_iterator):  # type: ignore[no-untyped-def]
        return await continuation(patient_details(client_call_details), request_iterator)


def client_channel(target: str, *, interceptors: list[Any] | None = None) -> grpc.aio.Channel:
    """A channel that calls by the client retry policy (module docstring): the one to use from outside."""
    return insecure_channel(target, interceptors=[_PatientInterceptor(), *(interceptors or [])])


class ServiceTokenProvider:
    """A service token from identity's IssueServiceToken, refreshed a minute before it expires."""

    def __init__(self, identity: grpc.aio.Channel, *, service_name: str, client_secret: str) -> None:
        self._identity = identity
        self._service_name = service_name
        self._secret = client_secret
        self._token: str | None = None
        self._expires = datetime.min.replace(tzinfo=UTC)
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        if self._token and datetime.now(UTC) < self._expires - timedelta(seconds=60):
            return self._token
        async with self._lock:
            if self._token and datetime.now(UTC) < self._expires - timedelta(seconds=60):
                return self._token
            from training.identity.v1 import identity_pb2, identity_pb2_grpc

            stub = identity_pb2_grpc.IdentityServiceStub(self._identity)
            try:
                response = await stub.IssueServiceToken(
                    identity_pb2.IssueServiceTokenRequest(service_name=self._service_name, client_secret=self._secret),
                    timeout=5,
                )
            except grpc.RpcError as exc:
                raise Unavailable(f"could not obtain a service token from identity: {exc.code().name}") from exc
            self._token = response.access_token
            self._expires = response.expires_at.ToDatetime(tzinfo=UTC)
            return self._token


class _BearerInterceptor(
    grpc.aio.UnaryUnaryClientInterceptor,
    grpc.aio.UnaryStreamClientInterceptor,
    grpc.aio.StreamUnaryClientInterceptor,
    grpc.aio.StreamStreamClientInterceptor,
):
    def __init__(self, provider: ServiceTokenProvider) -> None:
        self._provider = provider

    async def _details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        metadata = grpc.aio.Metadata(*(details.metadata or ()))
        if "authorization" not in metadata:  # a forwarded end-user token wins
            metadata["authorization"] = f"Bearer {await self._provider.token()}"
        # Service-to-service calls follow the client policy: a peer restarting is waited for.
        return patient_details(details, metadata)

    async def intercept_unary_unary(self, continuation, client_call_details, request):  # type: ignore[no-untyped-def]
        return await continuation(await self._details(client_call_details), request)

    async def intercept_unary_stream(self, continuation, client_call_details, request):  # type: ignore[no-untyped-def]
        return await continuation(await self._details(client_call_details), request)

    async def intercept_stream_unary(self, continuation, client_call_details, request_iterator):  # type: ignore[no-untyped-def]
        return await continuation(await self._details(client_call_details), request_iterator)

    async def intercept_stream_stream(self, continuation, client_call_details, request_iterator):  # type: ignore[no-untyped-def]
        return await continuation(await self._details(client_call_details), request_iterator)


class ServiceClients:
    """Channels to other services, one per target, each call carrying this service's token."""

    def __init__(self, *, service_name: str, identity_url: str, client_secret: str | None) -> None:
        self._service_name = service_name
        self._identity = client_channel(identity_url)
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._provider = (
            ServiceTokenProvider(self._identity, service_name=service_name, client_secret=client_secret)
            if client_secret
            else None
        )

    @property
    def identity_channel(self) -> grpc.aio.Channel:
        """Unauthenticated channel to identity (public key look-ups, token issuance)."""
        return self._identity

    def channel(self, target: str) -> grpc.aio.Channel:
        """An authenticated channel to `target` (host:port)."""
        if self._provider is None:
            raise RuntimeError(f"{self._service_name} has no service client secret; set its SERVICE_CLIENT_SECRET")
        if target not in self._channels:
            self._channels[target] = insecure_channel(target, interceptors=[_BearerInterceptor(self._provider)])
        return self._channels[target]

    def key_set(self) -> CachedKeySet:
        """Token-verification keys fetched from identity and cached."""

        async def fetch() -> tuple[dict[str, Ed25519PublicKey], float]:
            from training.identity.v1 import identity_pb2, identity_pb2_grpc

            stub = identity_pb2_grpc.IdentityServiceStub(self._identity)
            response = await stub.GetPublicKeys(identity_pb2.GetPublicKeysRequest(), timeout=5)
            keys = {k.key_id: Ed25519PublicKey.from_public_bytes(k.public_key) for k in response.keys}
            return keys, float(response.cache_seconds or 300)

        return CachedKeySet(fetch)

    async def close(self) -> None:
        for channel in [*self._channels.values(), self._identity]:
            await channel.close()
