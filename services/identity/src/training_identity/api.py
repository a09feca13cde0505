"""The gRPC servicer: protobuf in, application call, protobuf out. No rules live here."""

from __future__ import annotations

import grpc

from training.identity.v1 import identity_pb2 as pb
from training.identity.v1 import identity_pb2_grpc
from training_identity.app.accounts import Accounts, NewAccount, TraineeRegistration
from training_identity.app.institutions import Institutions, NewInstitution
from training_identity.app.sessions import Sessions, principal_of
from training_identity.app.views import InstitutionView, Tokens, UserView
from training_identity.domain.institutions import InstitutionStatus
from training_identity.face.app import FaceData
from training_identity.face.protoconv import face_check_pb, outcome_to_proto, purpose_from_proto
from training_identity.face.rules import ConsentTerms
from training_runtime.auth import require_principal
from training_runtime.protoconv import (
    qualification_from_proto,
    qualification_to_proto,
    role_from_proto,
    role_to_proto,
    timestamp,
)

_STATUS = {
    InstitutionStatus.ACTIVE: pb.INSTITUTION_STATUS_ACTIVE,
    InstitutionStatus.SUSPENDED: pb.INSTITUTION_STATUS_SUSPENDED,
    InstitutionStatus.DEREGISTERED: pb.INSTITUTION_STATUS_DEREGISTERED,
}
_STATUS_BACK = {v: k for k, v in _STATUS.items()}


def user_pb(u: UserView) -> pb.User:
    return pb.User(
        user_id=u.user_id,
        role=role_to_proto(u.role),
        display_name=u.display_name,
        username=u.username,
        national_id=u.national_id,
        phone=u.phone,
        employer=pb.Employer(name=u.employer_name, credit_code=u.employer_credit_code)
        if u.employer_credit_code
        else None,
        institution_id=u.institution_id,
        region_code=u.region_code,
        created_at=timestamp(u.created_at),
        unmasked=u.unmasked,
    )


def institution_pb(i: InstitutionView) -> pb.Institution:
    return pb.Institution(
        institution_id=i.institution_id,
        name=i.name,
        credit_code=i.credit_code,
        region_code=i.region_code,
        qualification_types=[qualification_to_proto(q) for q in i.qualification_types],
        operation_types=i.operation_types,
        status=_STATUS[i.status],
        status_reason=i.status_reason,
        created_at=timestamp(i.created_at),
        status_changed_at=timestamp(i.status_changed_at),
    )


def tokens_pb(t: Tokens) -> pb.TokenPair:
    return pb.TokenPair(
        access_token=t.access_token,
        access_token_expires_at=timestamp(t.access_expires_at),
        refresh_token=t.refresh_token,
        refresh_token_expires_at=timestamp(t.refresh_expires_at),
    )


class IdentityServicer(identity_pb2_grpc.IdentityServiceServicer):
    def __init__(
        self,
        accounts: Accounts,
        sessions: Sessions,
        institutions: Institutions,
        faces: FaceData,
        *,
        keys_cache_seconds: int,
    ) -> None:
        self._accounts = accounts
        self._sessions = sessions
        self._institutions = institutions
        self._faces = faces
        self._keys_cache_seconds = keys_cache_seconds

    async def RegisterTrainee(
        self, request: pb.RegisterTraineeRequest, context: grpc.aio.ServicerContext
    ) -> pb.RegisterTraineeResponse:
        user = await self._accounts.register_trainee(
            TraineeRegistration(
                display_name=request.display_name,
                national_id=request.national_id,
                phone=request.phone,
                employer_name=request.employer.name,
                employer_credit_code=request.employer.credit_code,
                password=request.password,
            )
        )
        return pb.RegisterTraineeResponse(user=user_pb(user))

    async def Login(self, request: pb.LoginRequest, context: grpc.aio.ServicerContext) -> pb.LoginResponse:
        tokens, row = await self._sessions.login(request.login, request.password)
        return pb.LoginResponse(tokens=tokens_pb(tokens), user=user_pb(self._accounts.view(row, principal_of(row))))

    async def RefreshToken(
        self, request: pb.RefreshTokenRequest, context: grpc.aio.ServicerContext
    ) -> pb.RefreshTokenResponse:
        return pb.RefreshTokenResponse(tokens=tokens_pb(await self._sessions.refresh(request.refresh_token)))

    async def Logout(self, request: pb.LogoutRequest, context: grpc.aio.ServicerContext) -> pb.LogoutResponse:
        await self._sessions.logout(request.refresh_token)
        return pb.LogoutResponse()

    async def ChangePassword(
        self, request: pb.ChangePasswordRequest, context: grpc.aio.ServicerContext
    ) -> pb.ChangePasswordResponse:
        await self._sessions.change_password(require_principal(), request.current_password, request.new_password)
        return pb.ChangePasswordResponse()

    async def IssueServiceToken(
        self, request: pb.IssueServiceTokenRequest, context: grpc.aio.ServicerContext
    ) -> pb.IssueServiceTokenResponse:
        issued = self._sessions.issue_service_token(request.service_name, request.client_secret)
        return pb.IssueServiceTokenResponse(access_token=issued.token, expires_at=timestamp(issued.expires_at))

    async def GetPublicKeys(
        self, request: pb.GetPublicKeysRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetPublicKeysResponse:
        return pb.GetPublicKeysResponse(
            keys=[
                pb.PublicKey(key_id=kid, algorithm="EdDSA", public_key=raw, current=current)
                for kid, raw, current in self._sessions.public_keys()
            ],
            cache_seconds=self._keys_cache_seconds,
        )

    async def CreateAccount(
        self, request: pb.CreateAccountRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateAccountResponse:
        user = await self._accounts.create_account(
            require_principal(),
            NewAccount(
                role=role_from_proto(request.role),
                username=request.username,
                password=request.password,
                display_name=request.display_name,
                phone=request.phone,
                institution_id=request.institution_id,
                region_code=request.region_code,
                employer_name=request.employer.name,
                employer_credit_code=request.employer.credit_code,
            ),
        )
        return pb.CreateAccountResponse(user=user_pb(user))

    async def GetUser(self, request: pb.GetUserRequest, context: grpc.aio.ServicerContext) -> pb.GetUserResponse:
        return pb.GetUserResponse(user=user_pb(await self._accounts.get_user(require_principal(), request.user_id)))

    async def ListUsers(self, request: pb.ListUsersRequest, context: grpc.aio.ServicerContext) -> pb.ListUsersResponse:
        page = await self._accounts.list_users(
            require_principal(),
            page_size=request.page.page_size,
            page_token=request.page.page_token,
            role=role_from_proto(request.role),
            institution_id=request.institution_id,
        )
        return pb.ListUsersResponse(users=[user_pb(u) for u in page.items], next_page_token=page.next_page_token)

    async def RegisterInstitution(
        self, request: pb.RegisterInstitutionRequest, context: grpc.aio.ServicerContext
    ) -> pb.RegisterInstitutionResponse:
        institution = await self._institutions.register(
            require_principal(),
            NewInstitution(
                name=request.name,
                credit_code=request.credit_code,
                region_code=request.region_code,
                qualification_types=[qualification_from_proto(q) for q in request.qualification_types],
                operation_types=list(request.operation_types),
            ),
        )
        return pb.RegisterInstitutionResponse(institution=institution_pb(institution))

    async def SuspendInstitution(
        self, request: pb.SuspendInstitutionRequest, context: grpc.aio.ServicerContext
    ) -> pb.SuspendInstitutionResponse:
        institution = await self._institutions.change_status(
            require_principal(), request.institution_id, request.reason, suspend=True
        )
        return pb.SuspendInstitutionResponse(institution=institution_pb(institution))

    async def ReinstateInstitution(
        self, request: pb.ReinstateInstitutionRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReinstateInstitutionResponse:
        institution = await self._institutions.change_status(
            require_principal(), request.institution_id, request.reason, suspend=False
        )
        return pb.ReinstateInstitutionResponse(institution=institution_pb(institution))

    async def GetInstitution(
        self, request: pb.GetInstitutionRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetInstitutionResponse:
        institution = await self._institutions.get(require_principal(), request.institution_id)
        return pb.GetInstitutionResponse(institution=institution_pb(institution))

    async def ListInstitutions(
        self, request: pb.ListInstitutionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListInstitutionsResponse:
        page = await self._institutions.list(
            require_principal(),
            page_size=request.page.page_size,
            page_token=request.page.page_token,
            region_code=request.region_code,
            status=_STATUS_BACK.get(request.status),
        )
        return pb.ListInstitutionsResponse(
            institutions=[institution_pb(i) for i in page.items], next_page_token=page.next_page_token
        )

    async def RecordFaceConsent(
        self, request: pb.RecordFaceConsentRequest, context: grpc.aio.ServicerContext
    ) -> pb.RecordFaceConsentResponse:
        consent = await self._faces.record_consent(
            require_principal(), ConsentTerms(purpose=request.purpose, retention_days=request.retention_days)
        )
        return pb.RecordFaceConsentResponse(
            consent_id=consent.consent_id,
            consented_at=timestamp(consent.consented_at),
            retain_until=timestamp(consent.retain_until),
        )

    async def EnrollFace(
        self, request: pb.EnrollFaceRequest, context: grpc.aio.ServicerContext
    ) -> pb.EnrollFaceResponse:
        enrolled = await self._faces.enroll(require_principal(), request.image)
        return pb.EnrollFaceResponse(
            enrolled_at=timestamp(enrolled.enrolled_at),
            face_width=enrolled.face_width,
            face_height=enrolled.face_height,
        )

    async def VerifyFace(
        self, request: pb.VerifyFaceRequest, context: grpc.aio.ServicerContext
    ) -> pb.VerifyFaceResponse:
        result = await self._faces.verify(
            require_principal(),
            request.user_id,
            request.image,
            purpose_from_proto(request.purpose),
            request.context_ref,
        )
        return pb.VerifyFaceResponse(
            face_check_id=result.face_check_id,
            outcome=outcome_to_proto(result.outcome),
            matched=result.matched,
            distance=result.distance or 0.0,
            threshold=result.threshold,
            checked_at=timestamp(result.checked_at),
        )

    async def DeleteFaceData(
        self, request: pb.DeleteFaceDataRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteFaceDataResponse:
        deletion = await self._faces.delete(require_principal(), request.user_id, request.reason)
        return pb.DeleteFaceDataResponse(
            deletion_id=deletion.deletion_id,
            deleted_at=timestamp(deletion.deleted_at),
            records_deleted=deletion.records_deleted,
        )

    async def WithdrawFaceConsent(
        self, request: pb.WithdrawFaceConsentRequest, context: grpc.aio.ServicerContext
    ) -> pb.WithdrawFaceConsentResponse:
        deletion = await self._faces.withdraw_consent(require_principal(), request.reason)
        return pb.WithdrawFaceConsentResponse(
            deletion_id=deletion.deletion_id,
            withdrawn_at=timestamp(deletion.deleted_at),
            records_deleted=deletion.records_deleted,
            records_retained=deletion.retained.count,
            retained_until=timestamp(deletion.retained.until),
        )

    async def GetFaceStatus(
        self, request: pb.GetFaceStatusRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetFaceStatusResponse:
        status = await self._faces.status(require_principal(), request.user_id)
        return pb.GetFaceStatusResponse(
            consented=status.consented_at is not None,
            consented_at=timestamp(status.consented_at),
            retain_until=timestamp(status.retain_until),
            enrolled=status.enrolled_at is not None,
            enrolled_at=timestamp(status.enrolled_at),
        )

    async def ListFaceChecks(
        self, request: pb.ListFaceChecksRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListFaceChecksResponse:
        checks, token = await self._faces.list_checks(
            require_principal(), request.user_id, request.page.page_size, request.page.page_token, request.reason
        )
        return pb.ListFaceChecksResponse(face_checks=[face_check_pb(c) for c in checks], next_page_token=token)

    async def GetFaceSnapshot(
        self, request: pb.GetFaceSnapshotRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetFaceSnapshotResponse:
        check, image = await self._faces.snapshot(require_principal(), request.face_check_id, request.reason)
        return pb.GetFaceSnapshotResponse(face_check=face_check_pb(check), content_type="image/jpeg", image=image)
