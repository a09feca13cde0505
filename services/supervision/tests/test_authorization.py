"""Authorization: every RPC called by every role is allowed or denied as declared, and a regulator
never sees another region: not its records, its commands or its statistics."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import descriptor_pool

from training.common.v1 import common_pb2
from training.supervision.v1 import supervision_pb2 as pb
from training.supervision.v1 import supervision_pb2_grpc
from training_identity.testing import Person
from training_runtime.clients import insecure_channel
from training_testkit import wait_until
from training_testkit.rpc import rpc_failure

R = common_pb2
EXPECTED: dict[str, set[int]] = {
    "ListPushRecords": {R.ROLE_OPERATOR, R.ROLE_REGULATOR},
    "ListFailedPushes": {R.ROLE_OPERATOR},
    "RetryFailedPushes": {R.ROLE_OPERATOR},
    "RunDailyBatch": {R.ROLE_OPERATOR},
    "ReconcileDay": {R.ROLE_OPERATOR},
    "FetchRegulatorCommands": {R.ROLE_OPERATOR},
    "ListRegulatorCommands": {R.ROLE_OPERATOR, R.ROLE_REGULATOR},
    "GetRegionStatistics": {R.ROLE_OPERATOR, R.ROLE_REGULATOR},
}
ANONYMOUS = 0
ROLES = [
    ANONYMOUS,
    R.ROLE_TRAINEE,
    R.ROLE_INSTITUTION_ADMIN,
    R.ROLE_INSTITUTION_STAFF,
    R.ROLE_EMPLOYER,
    R.ROLE_OPERATOR,
    R.ROLE_REGULATOR,
    R.ROLE_EXAM_INSTITUTION,
    R.ROLE_SERVICE,
]
# Calls that would change the shared queue or talk to the province: checked for access only with a
# request that is refused before it does anything.
HARMLESS = {
    "RetryFailedPushes": pb.RetryFailedPushesRequest(record_ids=["not-a-uuid"]),
    "RunDailyBatch": pb.RunDailyBatchRequest(batch_date="not-a-date"),
    "ReconcileDay": pb.ReconcileDayRequest(date="not-a-date"),
}


def test_the_table_names_every_rpc() -> None:
    service = descriptor_pool.Default().FindServiceByName("training.supervision.v1.SupervisionService")
    assert set(EXPECTED) == {m.name for m in service.methods}


@pytest.fixture(scope="session")
async def callers(people, supervision_app) -> dict[int, Person | None]:  # type: ignore[no-untyped-def]
    institution = await people.institution()
    admin = await people.account(R.ROLE_INSTITUTION_ADMIN, institution_id=institution.institution_id)
    return {
        ANONYMOUS: None,
        R.ROLE_TRAINEE: await people.trainee(),
        R.ROLE_INSTITUTION_ADMIN: admin,
        R.ROLE_INSTITUTION_STAFF: await people.account(R.ROLE_INSTITUTION_STAFF, creator=admin),
        R.ROLE_EMPLOYER: await people.account(R.ROLE_EMPLOYER),
        R.ROLE_OPERATOR: people.operator,
        R.ROLE_REGULATOR: await people.account(R.ROLE_REGULATOR, region_code="440000"),
        R.ROLE_EXAM_INSTITUTION: await people.account(R.ROLE_EXAM_INSTITUTION, region_code="440000"),
        R.ROLE_SERVICE: await people.service("certificates"),
    }


def request_for(method: str) -> object:
    if method in HARMLESS:
        return HARMLESS[method]
    service = descriptor_pool.Default().FindServiceByName("training.supervision.v1.SupervisionService")
    return getattr(pb, service.methods_by_name[method].input_type.name)()


@pytest.mark.parametrize("method", sorted(EXPECTED))
@pytest.mark.parametrize("role", ROLES, ids=lambda r: R.Role.Name(r) if r else "ANONYMOUS")
async def test_every_role_on_every_rpc(supervision_stub, callers, method: str, role: int) -> None:
    caller = callers[role]
    metadata = caller.metadata if caller else ()
    try:
        await getattr(supervision_stub, method)(request_for(method), metadata=metadata)
        code, details = grpc.StatusCode.OK, ""
    except grpc.aio.AioRpcError as exc:
        code, details = exc.code(), exc.details() or ""
    if caller is not None and role in EXPECTED[method]:
        assert code != grpc.StatusCode.UNAUTHENTICATED, details
        assert not (code == grpc.StatusCode.PERMISSION_DENIED and "may not call" in details), details
    elif caller is None:
        assert code == grpc.StatusCode.UNAUTHENTICATED
    else:
        assert code == grpc.StatusCode.PERMISSION_DENIED
        assert "may not call" in details


@pytest.fixture(scope="session")
async def two_provinces(people, supervision_app, province):  # type: ignore[no-untyped-def]
    """An institution in Guangzhou and one in Shanghai, both known to supervision, and a command of each."""
    guangzhou = await people.institution("440106")
    shanghai = await people.institution("310104")
    gd_command = province.issue_command("suspend_institution", "440100", guangzhou.institution_id, "广州检查")
    sh_command = province.issue_command("suspend_institution", "310000", shanghai.institution_id, "上海检查")
    await fetch_commands(people, supervision_app)
    return {
        "gz": guangzhou,
        "sh": shanghai,
        "gd_command": gd_command.command_id,
        "sh_command": sh_command.command_id,
        "gd_regulator": await people.account(R.ROLE_REGULATOR, region_code="440000"),
        "gz_regulator": await people.account(R.ROLE_REGULATOR, region_code="440100"),
        "sh_regulator": await people.account(R.ROLE_REGULATOR, region_code="310000"),
    }


async def fetch_commands(people, supervision_app) -> None:  # type: ignore[no-untyped-def]
    async with insecure_channel(f"127.0.0.1:{supervision_app.port}") as channel:
        stub = supervision_pb2_grpc.SupervisionServiceStub(channel)
        await stub.FetchRegulatorCommands(pb.FetchRegulatorCommandsRequest(), metadata=people.operator.metadata)


async def all_records(stub, viewer: Person) -> list[pb.PushRecord]:  # type: ignore[no-untyped-def]
    found, token = [], ""
    while True:
        page = await stub.ListPushRecords(
            pb.ListPushRecordsRequest(page=common_pb2.PageRequest(page_size=200, page_token=token)),
            metadata=viewer.metadata,
        )
        found.extend(page.records)
        token = page.next_page_token
        if not token:
            return found


async def test_a_regulator_sees_only_records_of_its_region(supervision_stub, two_provinces, people) -> None:
    async def both_known():  # type: ignore[no-untyped-def]
        institutions = {r.institution_id for r in await all_records(supervision_stub, people.operator)}
        return {two_provinces["gz"].institution_id, two_provinces["sh"].institution_id} <= institutions

    await wait_until(both_known, what="supervision to record both institutions")
    for regulator, own, foreign in (("gd_regulator", "44", "sh"), ("sh_regulator", "31", "gz")):
        records = await all_records(supervision_stub, two_provinces[regulator])
        assert records, f"{regulator} sees nothing at all"
        assert all(r.region_code.startswith(own) for r in records)
        assert two_provinces[foreign].institution_id not in {r.institution_id for r in records}


async def test_a_regulator_sees_only_commands_of_its_region(supervision_stub, two_provinces) -> None:
    listed = await supervision_stub.ListRegulatorCommands(
        pb.ListRegulatorCommandsRequest(page=common_pb2.PageRequest(page_size=200)),
        metadata=two_provinces["gz_regulator"].metadata,
    )
    ids = {c.command_id for c in listed.commands}
    assert two_provinces["gd_command"] in ids
    assert two_provinces["sh_command"] not in ids
    assert all(c.region_code.startswith("4401") for c in listed.commands)


async def test_statistics_are_scoped_to_the_regulators_region(supervision_stub, two_provinces) -> None:
    gd = two_provinces["gd_regulator"]
    own = (await supervision_stub.GetRegionStatistics(pb.GetRegionStatisticsRequest(), metadata=gd.metadata)).statistics
    part = (
        await supervision_stub.GetRegionStatistics(
            pb.GetRegionStatisticsRequest(region_code="440106"), metadata=gd.metadata
        )
    ).statistics

    assert own.region_code == "440000"
    assert own.institutions >= part.institutions >= 1
    for region in ("310000", "310104", "000000"):
        await rpc_failure(
            supervision_stub.GetRegionStatistics(
                pb.GetRegionStatisticsRequest(region_code=region), metadata=gd.metadata
            ),
            grpc.StatusCode.PERMISSION_DENIED,
        )
    await rpc_failure(
        supervision_stub.GetRegionStatistics(
            pb.GetRegionStatisticsRequest(region_code="440000"), metadata=two_provinces["gz_regulator"].metadata
        ),
        grpc.StatusCode.PERMISSION_DENIED,
    )
