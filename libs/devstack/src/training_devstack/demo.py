"""Demo data for `make run`: an institution, its admin and teacher, a trainee, and (when courses and
learning run) a syllabus, two published courses whose lessons play the bundled test video, a class
on the demo rulebook and the trainee enrolled in it, and (when exams runs) the sample question bank
with a mock and a final exam for that class, all created through the APIs.

Idempotent: a second run finds what the first created (by username, ID number, credit code or
title) and reuses it.
"""

from __future__ import annotations

import importlib.util

import grpc

from training.common.v1 import common_pb2
from training.identity.v1 import identity_pb2 as pb
from training.identity.v1 import identity_pb2_grpc

DEMO_PASSWORD = "Demo#Train2026"
DEMO_INSTITUTION_CODE = "91440106MA5CXQ1L6N"
DEMO_TRAINEE_ID = "440106199001011235"


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _auth(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


async def seed(host: str, secrets: dict[str, str]) -> list[str]:
    async with grpc.aio.insecure_channel(f"{host}:50051") as channel:
        identity = identity_pb2_grpc.IdentityServiceStub(channel)
        operator = await identity.Login(pb.LoginRequest(login="operator", password=secrets["operator_password"]))
        op = _auth(operator.tokens.access_token)

        listed = await identity.ListInstitutions(pb.ListInstitutionsRequest(), metadata=op)
        institution = next((i for i in listed.institutions if i.credit_code == DEMO_INSTITUTION_CODE), None)
        if institution is None:
            institution = (
                await identity.RegisterInstitution(
                    pb.RegisterInstitutionRequest(
                        name="广州示范安全培训学校",
                        credit_code=DEMO_INSTITUTION_CODE,
                        region_code="440106",
                        qualification_types=[
                            common_pb2.QUALIFICATION_TYPE_PRINCIPAL_HIGH_RISK,
                            common_pb2.QUALIFICATION_TYPE_SAFETY_MANAGER_HIGH_RISK,
                            common_pb2.QUALIFICATION_TYPE_SPECIAL_OPERATION,
                        ],
                        operation_types=["electrical.low_voltage", "welding.fusion_and_cutting"],
                    ),
                    metadata=op,
                )
            ).institution

        await _ensure_account(
            identity,
            op,
            pb.CreateAccountRequest(
                role=common_pb2.ROLE_INSTITUTION_ADMIN,
                username="demo-school",
                password=DEMO_PASSWORD,
                display_name="示范学校管理员",
                institution_id=institution.institution_id,
            ),
        )
        await _ensure_account(
            identity,
            op,
            pb.CreateAccountRequest(
                role=common_pb2.ROLE_REGULATOR,
                username="gd-regulator",
                password=DEMO_PASSWORD,
                display_name="广东省应急管理厅",
                region_code="440000",
            ),
        )
        await _ensure_account(
            identity,
            _auth(
                (await identity.Login(pb.LoginRequest(login="demo-school", password=DEMO_PASSWORD))).tokens.access_token
            ),
            pb.CreateAccountRequest(
                role=common_pb2.ROLE_INSTITUTION_STAFF,
                username="demo-teacher",
                password=DEMO_PASSWORD,
                display_name="示范学校讲师",
                institution_id=institution.institution_id,
            ),
        )
        try:
            await identity.RegisterTrainee(
                pb.RegisterTraineeRequest(
                    display_name="王小明",
                    national_id=DEMO_TRAINEE_ID,
                    phone="13800138000",
                    employer=pb.Employer(name="广州示范化工有限公司", credit_code="91440101MA59TGUR8L"),
                    password=DEMO_PASSWORD,
                )
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise
    lines = [
        "",
        "Demo accounts (password " + DEMO_PASSWORD + "):",
        f"  trainee        {DEMO_TRAINEE_ID} (or 13800138000)",
        "  institution    demo-school (admin), demo-teacher (staff, teaches the demo courses)",
        "  regulator      gd-regulator (Guangdong province)",
    ]
    if installed("training_courses") and installed("training_learning"):
        from training_devstack.demo_training import seed_training

        lines += await seed_training(host, secrets)
        if installed("training_exams"):
            from training_devstack.demo_exams import seed_exams

            lines += await seed_exams(host, secrets)
    if installed("training_supervision_simulator"):
        lines += [
            "",
            "Provincial platform simulator (what supervision delivered; fault injection; regulator commands):",
            f"  curl --cacert {secrets['province_certificate']} \\",
            f"    -H 'Authorization: Bearer {secrets['province_token']}' https://{host}:8443/admin/records",
            "  (see docs/supervision-contract.md)",
        ]
    return lines


async def _ensure_account(
    identity: identity_pb2_grpc.IdentityServiceStub,
    metadata: tuple[tuple[str, str], ...],
    request: pb.CreateAccountRequest,
) -> None:
    try:
        await identity.CreateAccount(request, metadata=metadata)
    except grpc.aio.AioRpcError as exc:
        if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
            raise
