"""What certificates asks identity at issuance, with its own service token: the trainee's real name
and ID number (masked here before anything is stored) and the institution's name and status."""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from training.identity.v1 import identity_pb2 as ipb
from training.identity.v1 import identity_pb2_grpc
from training_events import PermanentEventError
from training_runtime.errors import Unavailable
from training_runtime.masking import mask_national_id


@dataclass(frozen=True)
class Trainee:
    name: str
    masked_national_id: str


@dataclass(frozen=True)
class InstitutionFacts:
    name: str
    suspended: bool


class Directory:
    def __init__(self, channel: grpc.aio.Channel, *, timeout: float) -> None:
        self._stub = identity_pb2_grpc.IdentityServiceStub(channel)
        self._timeout = timeout

    async def trainee(self, user_id: str) -> Trainee:
        try:
            response = await self._stub.GetUser(ipb.GetUserRequest(user_id=user_id), timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise _failure("trainee", user_id, exc) from exc
        user = response.user
        return Trainee(name=user.display_name, masked_national_id=mask_national_id(user.national_id))

    async def institution(self, institution_id: str) -> InstitutionFacts:
        try:
            response = await self._stub.GetInstitution(
                ipb.GetInstitutionRequest(institution_id=institution_id), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as exc:
            raise _failure("institution", institution_id, exc) from exc
        institution = response.institution
        return InstitutionFacts(name=institution.name, suspended=institution.status == ipb.INSTITUTION_STATUS_SUSPENDED)


def _failure(what: str, identifier: str, exc: grpc.aio.AioRpcError) -> Exception:
    if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
        # No retry brings a trainee or institution identity does not know: dead-letter with an alert.
        return PermanentEventError(f"identity does not know {what} {identifier}: {exc.details()}")
    return Unavailable(f"identity did not answer for {what} {identifier}: {exc.code().name}")
