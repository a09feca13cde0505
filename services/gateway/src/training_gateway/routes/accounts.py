"""Accounts and sign-in (identity): registration under a real name, login, tokens, own account."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from training.common.v1 import common_pb2
from training.identity.v1 import identity_pb2 as pb
from training.identity.v1 import identity_pb2_grpc
from training_gateway.deps import Auth, Body, Id, PageSize, Services, Text, answers, enum_names, to_json
from training_gateway.ratelimit import rate_limit

router = APIRouter(prefix="/api/v1", tags=["accounts"])


def _identity(services: Services) -> identity_pb2_grpc.IdentityServiceStub:
    return services.stub("identity", identity_pb2_grpc.IdentityServiceStub)


class EmployerBody(Body):
    name: Text = ""
    credit_code: Text = ""


class RegisterTraineeBody(Body):
    display_name: Text
    national_id: Text
    phone: Text
    employer: EmployerBody | None = None
    password: Text


class LoginBody(Body):
    login: Text
    password: Text


class RefreshBody(Body):
    refresh_token: Text


class ChangePasswordBody(Body):
    current_password: Text
    new_password: Text


@router.post(
    "/trainees", status_code=201, summary="Register a trainee under a real name", **answers(pb.RegisterTraineeResponse)
)
async def register_trainee(body: RegisterTraineeBody, services: Services):
    request = pb.RegisterTraineeRequest(
        display_name=body.display_name, national_id=body.national_id, phone=body.phone, password=body.password
    )
    if body.employer is not None:
        request.employer.CopyFrom(pb.Employer(name=body.employer.name, credit_code=body.employer.credit_code))
    return to_json(await services.call(_identity(services).RegisterTrainee, request, None))


@router.post(
    "/sessions",
    summary="Sign in with an ID number, mobile number or username (rate-limited per client)",
    dependencies=[Depends(rate_limit("login"))],
    **answers(pb.LoginResponse),
)
async def login(body: LoginBody, services: Services):
    request = pb.LoginRequest(login=body.login, password=body.password)
    return to_json(await services.call(_identity(services).Login, request, None))


@router.post(
    "/sessions/refresh",
    summary="Exchange a refresh token for new tokens",
    dependencies=[Depends(rate_limit("login"))],
    **answers(pb.RefreshTokenResponse),
)
async def refresh(body: RefreshBody, services: Services):
    request = pb.RefreshTokenRequest(refresh_token=body.refresh_token)
    return to_json(await services.call(_identity(services).RefreshToken, request, None))


@router.post("/sessions/logout", summary="Revoke the session a refresh token belongs to", **answers(pb.LogoutResponse))
async def logout(body: RefreshBody, services: Services):
    request = pb.LogoutRequest(refresh_token=body.refresh_token)
    return to_json(await services.call(_identity(services).Logout, request, None))


@router.post("/account/password", summary="Change the caller's password", **answers(pb.ChangePasswordResponse))
async def change_password(body: ChangePasswordBody, services: Services, auth: Auth):
    request = pb.ChangePasswordRequest(current_password=body.current_password, new_password=body.new_password)
    return to_json(await services.call(_identity(services).ChangePassword, request, auth))


@router.get("/users/{user_id}", summary="One account, if the caller may see it", **answers(pb.GetUserResponse))
async def get_user(user_id: Id, services: Services, auth: Auth):
    return to_json(await services.call(_identity(services).GetUser, pb.GetUserRequest(user_id=user_id), auth))


@router.get("/users", summary="Accounts the caller may see (institution console)", **answers(pb.ListUsersResponse))
async def list_users(
    services: Services,
    auth: Auth,
    role: enum_names(common_pb2.Role) | None = None,  # type: ignore[valid-type]
    institution_id: str = "",
    page_size: PageSize = 0,
    page_token: str = "",
):
    request = pb.ListUsersRequest(
        page=common_pb2.PageRequest(page_size=page_size, page_token=page_token),
        role=common_pb2.Role.Value(role) if role else 0,
        institution_id=institution_id,
    )
    return to_json(await services.call(_identity(services).ListUsers, request, auth))
