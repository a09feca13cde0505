"""Identity publishes its facts on TRAINING_IDENTITY through the outbox, carrying ids, not personal data."""

from __future__ import annotations

import nats
from nats.js.api import ConsumerConfig, DeliverPolicy

from training.common.v1 import common_pb2
from training.identity.v1 import identity_events_pb2 as events
from training.identity.v1 import identity_pb2 as pb
from training_events import Headers
from training_testkit import wait_until


async def published(nats_url: str, subject: str, key: str) -> list:
    client = await nats.connect(nats_url)
    try:
        js = client.jetstream()
        sub = await js.pull_subscribe(
            subject, stream="TRAINING_IDENTITY", config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
        )
        found = []
        try:
            while True:
                batch = await sub.fetch(200, timeout=0.5)
                found += [m for m in batch if (m.headers or {}).get(Headers.KEY) == key]
        except (nats.errors.TimeoutError, TimeoutError):
            pass
        await sub.unsubscribe()
        return found
    finally:
        await client.close()


async def test_registration_publishes_user_registered_without_personal_data(people, nats_server) -> None:
    person = await people.trainee()
    me = await people.stub.GetUser(pb.GetUserRequest(user_id=person.user_id), metadata=person.metadata)
    messages = await wait_until(
        lambda: published(nats_server.url, "training.identity.user.registered.v1", person.user_id),
        what="user.registered on the stream",
    )
    assert len(messages) == 1
    message = messages[0]
    payload = events.UserRegistered.FromString(message.data)
    assert payload.user_id == person.user_id
    assert payload.role == common_pb2.ROLE_TRAINEE
    assert payload.region_code == "440106"
    assert message.headers[Headers.TYPE] == "training.identity.v1.UserRegistered"
    assert message.headers[Headers.SOURCE] == "identity"
    for secret in (me.user.national_id, me.user.phone, me.user.display_name):
        assert secret.encode() not in message.data


async def test_suspension_and_reinstatement_are_published_in_order(people, nats_server) -> None:
    institution = await people.institution()
    for suspend in (True, False, True):
        request = {"institution_id": institution.institution_id, "reason": "检查" if suspend else "整改完成"}
        if suspend:
            await people.stub.SuspendInstitution(
                pb.SuspendInstitutionRequest(**request), metadata=people.operator.metadata
            )
        else:
            await people.stub.ReinstateInstitution(
                pb.ReinstateInstitutionRequest(**request), metadata=people.operator.metadata
            )
    messages = await wait_until(
        lambda: _at_least(nats_server.url, institution.institution_id, 4), what="four institution events"
    )
    assert [m.subject.split(".")[3] for m in messages] == ["registered", "suspended", "reinstated", "suspended"]
    suspended = events.InstitutionSuspended.FromString(messages[1].data)
    assert suspended.actor_id == people.operator.user_id
    assert suspended.actor_role == common_pb2.ROLE_OPERATOR


async def _at_least(url: str, key: str, n: int) -> list | None:
    messages = await published(url, "training.identity.institution.>", key)
    return messages if len(messages) >= n else None
