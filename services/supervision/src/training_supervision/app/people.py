"""Personal data the province needs (name, whole resident ID number), fetched from identity with
supervision's service token at the moment a record is sent; never stored here, never in events."""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from training.identity.v1 import identity_pb2 as ipb
from training.identity.v1 import identity_pb2_grpc


class PersonUnavailable(Exception):
    """Identity did not answer; the records waiting for it are retried."""


class PersonUnknown(Exception):
    """Identity does not know the person; the record cannot be completed."""


@dataclass(frozen=True)
class Person:
    name: str
    id_number: str


class PeopleDirectory:
    def __init__(self, channel: grpc.aio.Channel, *, timeout: float) -> None:
        self._stub = identity_pb2_grpc.IdentityServiceStub(channel)
        self._timeout = timeout

    async def person(self, user_id: str) -> Person:
        try:
            response = await self._stub.GetUser(ipb.GetUserRequest(user_id=user_id), timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                raise PersonUnknown(f"identity does not know user {user_id}") from exc
            raise PersonUnavailable(f"identity did not answer for user {user_id}: {exc.code().name}") from exc
        user = response.user
        if not user.unmasked:
            raise PersonUnavailable(f"identity showed user {user_id}'s ID number masked to supervision")
        return Person(name=user.display_name, id_number=user.national_id)
