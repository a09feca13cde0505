"""Institutions see the trainees enrolled in their classes, and regulators those enrolled in their
region, once courses' enrollment event reaches identity."""

from __future__ import annotations

import grpc

from training.common.v1 import common_pb2
from training.identity.v1 import identity_pb2 as pb
from training_testkit import wait_until
from training_testkit.rpc import rpc_failure


async def sees(people, viewer, trainee) -> bool:  # type: ignore[no-untyped-def]
    try:
        await people.stub.GetUser(pb.GetUserRequest(user_id=trainee.user_id), metadata=viewer.metadata)
    except grpc.aio.AioRpcError as exc:
        if exc.code() != grpc.StatusCode.NOT_FOUND:
            raise
        return False
    return True


async def listed(people, viewer, trainee) -> bool:  # type: ignore[no-untyped-def]
    page = await people.stub.ListUsers(
        pb.ListUsersRequest(role=common_pb2.ROLE_TRAINEE, page=common_pb2.PageRequest(page_size=200)),
        metadata=viewer.metadata,
    )
    return trainee.user_id in {u.user_id for u in page.users}


async def test_enrollment_opens_the_trainee_to_the_institution_and_its_regions_regulator(people, campus) -> None:
    # A trainee working for a Shanghai employer trains with a Shenzhen school.
    trainee = await people.trainee(region="310101")
    opened = await campus.open_class(region="440305")
    other_school = await campus.school(region="440305")
    shenzhen = await people.account(common_pb2.ROLE_REGULATOR, region_code="440300")
    guangzhou = await people.account(common_pb2.ROLE_REGULATOR, region_code="440100")
    assert not await sees(people, opened.school.admin, trainee)
    assert not await sees(people, shenzhen, trainee)

    await campus.enroll(opened, trainee)

    await wait_until(lambda: sees(people, opened.school.admin, trainee), what="identity to learn the enrollment")
    assert await sees(people, opened.school.staff, trainee)
    assert await listed(people, opened.school.admin, trainee)
    assert await sees(people, shenzhen, trainee)
    assert await listed(people, shenzhen, trainee)
    # Nobody else gains anything from it.
    assert not await sees(people, other_school.admin, trainee)
    assert not await listed(people, other_school.admin, trainee)
    assert not await sees(people, guangzhou, trainee)
    seen = await people.stub.GetUser(pb.GetUserRequest(user_id=trainee.user_id), metadata=opened.school.admin.metadata)
    assert not seen.user.unmasked


async def test_listing_by_institution_includes_its_enrolled_trainees(people, campus) -> None:
    trainee = await people.trainee()
    opened = await campus.open_class()
    await campus.enroll(opened, trainee)
    await wait_until(lambda: sees(people, opened.school.admin, trainee), what="identity to learn the enrollment")
    page = await people.stub.ListUsers(
        pb.ListUsersRequest(institution_id=opened.school.institution_id), metadata=people.operator.metadata
    )
    assert {trainee.user_id, opened.school.admin.user_id, opened.school.staff.user_id} <= {
        u.user_id for u in page.users
    }
    outsider = await rpc_failure(
        people.stub.GetUser(pb.GetUserRequest(user_id=trainee.user_id), metadata=(await campus.school()).admin.metadata)
    )
    assert outsider.code == grpc.StatusCode.NOT_FOUND
