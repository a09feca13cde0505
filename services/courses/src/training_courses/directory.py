"""Questions for identity that need an answer now: is this account a trainee, a staff member of
that institution? Asked over gRPC with courses' service token."""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from training.identity.v1 import identity_pb2 as ipb
from training.identity.v1 import identity_pb2_grpc
from training_runtime.auth.principal import Role
from training_runtime.errors import Unavailable
from training_runtime.protoconv import role_from_proto


@dataclass(frozen=True)
class Account:
    user_id: str
    role: Role | None
    institution_id: str
    employer_credit_code: str


class Directory:
    def __init__(self, channel: grpc.aio.Channel, *, timeout: float = 5.0) -> None:
        self._stub = identity_pb2_grpc.IdentityServiceStub(channel)
        self._timeout = timeout

    async def account(self, user_id: str) -> Account | None:
        """The account, or None when identity knows no such user."""
        try:
            response = await self._stub.GetUser(ipb.GetUserRequest(user_id=user_id), timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                return None
            raise Unavailable(f"identity did not answer ({exc.code().name}); retry shortly") from exc
        user = response.user
        return Account(
            user_id=user.user_id,
            role=role_from_proto(user.role),
            institution_id=user.institution_id,
            employer_credit_code=user.employer.credit_code,
        )
