"""The retention job deletes exactly what is due, with proof: face-check snapshots when their
retention ends (3 years for managers, 6 for special operations), the baseline when consent ends,
and the trainee's personal data when every record's retention has ended.

The job runs over a whole database, so these scenarios run on an identity of their own (a fresh
database, a private NATS, a clock the test moves years ahead); courses' enrollment events reach it
over that NATS exactly as courses' relay would publish them.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest_asyncio

from training.common.v1 import common_pb2
from training.courses.v1 import courses_events_pb2 as courses_events
from training.identity.v1 import identity_pb2 as pb
from training.identity.v1 import identity_pb2_grpc
from training_events import Event
from training_identity.chains import CHAINS, FACE_CHECKS
from training_identity.face.rules import DeletedRecord, deletion_digest
from training_identity.face.vault import FaceVault
from training_identity.retention.job import CONSENT_ENDED, ERASED_NAME, RECORDS_DUE, SNAPSHOTS_DUE, RetentionJob
from training_identity.service import MIGRATIONS, IdentityService, personal_data
from training_identity.settings import IdentitySettings
from training_identity.testing import (
    FACE_CONSENT_PURPOSE,
    FacePhotos,
    People,
    Person,
    identity_settings,
    migrated_database,
)
from training_records import verify_chain
from training_runtime.clients import insecure_channel
from training_runtime.clock import ManualClock
from training_runtime.db import UnitOfWork
from training_runtime.protoconv import timestamp
from training_testkit import running_app, wait_until
from training_testkit.streams import EventPublisher

START = datetime(2030, 1, 15, 8, 0, tzinfo=UTC)
DAY = timedelta(days=1)


async def chain_intact(stack: Stack) -> int:
    """Identity's face-check chain verifies; returns how many links were checked."""
    async with stack.uow.read() as session:
        verification = await verify_chain(session, CHAINS, FACE_CHECKS)
    assert verification.first_break is None, verification.first_break
    return verification.links_checked


@dataclass
class Stack:
    stub: identity_pb2_grpc.IdentityServiceStub
    people: People
    clock: ManualClock
    job: RetentionJob
    sql: asyncpg.Connection
    publisher: EventPublisher
    settings: IdentitySettings
    photos: FacePhotos
    uow: UnitOfWork


@pytest_asyncio.fixture(loop_scope="session")
async def stack(test_databases, nats_factory, platform_secrets, face_photos) -> AsyncIterator[Stack]:  # type: ignore[no-untyped-def]
    database = await migrated_database(test_databases, "identity_retention", MIGRATIONS)
    nats = nats_factory()
    clock = ManualClock(START)
    settings = identity_settings(
        database_url=database, nats_url=nats.url, secrets=platform_secrets, retention_interval_seconds=10**6
    )
    async with running_app(IdentityService(), settings, clock=clock) as app:
        assert app.context is not None
        job = RetentionJob(app.context.uow, clock, FaceVault(personal_data(settings).cipher))
        channel = insecure_channel(f"127.0.0.1:{app.port}")
        sql = await asyncpg.connect(database)
        try:
            async with EventPublisher(nats.url) as publisher:
                stub = identity_pb2_grpc.IdentityServiceStub(channel)
                people = People(stub, operator=None, secrets=platform_secrets)  # type: ignore[arg-type]
                yield Stack(stub, people, clock, job, sql, publisher, settings, face_photos, app.context.uow)
        finally:
            await sql.close()
            await channel.close()


async def face_trainee(stack: Stack, *, consent_days: int = 3650) -> Person:
    trainee = await stack.people.trainee()
    await stack.stub.RecordFaceConsent(
        pb.RecordFaceConsentRequest(purpose=FACE_CONSENT_PURPOSE, retention_days=consent_days),
        metadata=trainee.metadata,
    )
    await stack.stub.EnrollFace(pb.EnrollFaceRequest(image=stack.photos["obama.jpg"]), metadata=trainee.metadata)
    return trainee


async def enroll(stack: Stack, trainee: Person, qualification: int, years: int) -> None:
    enrollment_id = str(uuid.uuid4())
    await stack.publisher.publish(
        Event(
            "training.courses.enrollment.created.v1",
            courses_events.EnrollmentCreated(
                enrollment_id=enrollment_id,
                class_id=str(uuid.uuid4()),
                trainee_id=trainee.user_id,
                institution_id=str(uuid.uuid4()),
                region_code="440106",
                employer_credit_code=trainee.employer_code,
                enrolled_at=timestamp(stack.clock.now()),
                qualification_type=qualification,  # type: ignore[arg-type]
                retention_years=years,
            ),
            key=enrollment_id,
        ),
        source="courses",
    )

    async def learnt() -> bool:
        return bool(
            await stack.sql.fetchval(
                "SELECT count(*) FROM trainee_enrollments WHERE enrollment_id = $1", uuid.UUID(enrollment_id)
            )
        )

    await wait_until(learnt, what="identity to learn the enrollment")


async def check(stack: Stack, trainee: Person, purpose: int = pb.FACE_CHECK_PURPOSE_STUDY_RANDOM) -> str:
    learning = await stack.people.service("learning")
    caller = trainee if purpose == pb.FACE_CHECK_PURPOSE_SELF_TEST else learning
    checked = await stack.stub.VerifyFace(
        pb.VerifyFaceRequest(user_id=trainee.user_id, image=stack.photos["obama2.jpg"], purpose=purpose),
        metadata=caller.metadata,
    )
    return checked.face_check_id


async def snapshots(stack: Stack, trainee: Person) -> dict[str, tuple[str, datetime | None]]:
    """The trainee's stored snapshots: id -> (SHA-256 of the ciphertext, retention end)."""
    rows = await stack.sql.fetch(
        "SELECT id, encode(sha256(image_enc), 'hex') AS sha, retention_until FROM face_snapshots WHERE user_id = $1",
        uuid.UUID(trainee.user_id),
    )
    return {str(r["id"]): (r["sha"], r["retention_until"]) for r in rows}


async def user_row(stack: Stack, trainee: Person) -> asyncpg.Record:
    row = await stack.sql.fetchrow("SELECT * FROM users WHERE id = $1", uuid.UUID(trainee.user_id))
    assert row is not None
    return row


async def proofs(stack: Stack, trainee: Person) -> list[asyncpg.Record]:
    return await stack.sql.fetch(
        "SELECT * FROM face_data_deletions WHERE user_id = $1 ORDER BY deleted_at, reason", uuid.UUID(trainee.user_id)
    )


async def test_the_job_deletes_exactly_what_is_due_and_proves_it(stack: Stack) -> None:
    sql = stack.sql
    special = await face_trainee(stack)  # special operations: 6 years
    manager = await face_trainee(stack)  # safety manager: 3 years
    unenrolled = await face_trainee(stack, consent_days=365)  # no training record at all
    lapsed = await face_trainee(stack, consent_days=365)  # a manager whose face consent ends first
    await enroll(stack, special, common_pb2.QUALIFICATION_TYPE_SPECIAL_OPERATION, 6)
    await enroll(stack, manager, common_pb2.QUALIFICATION_TYPE_SAFETY_MANAGER_HIGH_RISK, 3)
    await enroll(stack, lapsed, common_pb2.QUALIFICATION_TYPE_PRINCIPAL_HIGH_RISK, 3)
    stack.clock.advance(timedelta(hours=1))
    checked_at = stack.clock.now()
    special_checks = [await check(stack, special), await check(stack, special, pb.FACE_CHECK_PURPOSE_STUDY_END)]
    await check(stack, special, pb.FACE_CHECK_PURPOSE_SELF_TEST)
    await check(stack, manager)
    await check(stack, lapsed)
    await check(stack, unenrolled, pb.FACE_CHECK_PURPOSE_SELF_TEST)

    # Each training check's snapshot is dated by its qualification's years; a self-test and the
    # baseline are not training records; the trainee's personal data is kept as long as its last record.
    special_until = checked_at.replace(year=checked_at.year + 6)
    manager_until = checked_at.replace(year=checked_at.year + 3)
    assert sorted(d for _, d in (await snapshots(stack, special)).values() if d) == [special_until] * 2
    assert sum(1 for _, d in (await snapshots(stack, special)).values() if d is None) == 2  # baseline, self-test
    assert [d for _, d in (await snapshots(stack, manager)).values() if d] == [manager_until]
    assert all(d is None for _, d in (await snapshots(stack, unenrolled)).values())
    assert (await user_row(stack, special))["retention_until"] == special_until
    assert (await user_row(stack, manager))["retention_until"] == manager_until
    assert (await user_row(stack, unenrolled))["retention_until"] is None

    links = await chain_intact(stack)
    assert links == 6

    # One day before the managers' records are due: only the ended consents (365 days) take effect.
    # The lapsed manager's baseline goes; its study check's snapshot is a training record and stays.
    stack.clock.set(manager_until - DAY)
    before = await stack.job.run_once()
    assert (before.snapshots_deleted, before.baselines_deleted, before.users_erased) == (3, 2, 0)
    assert await snapshots(stack, unenrolled) == {}
    assert [p["reason"] for p in await proofs(stack, unenrolled)] == [CONSENT_ENDED]
    assert [d for _, d in (await snapshots(stack, lapsed)).values()] == [manager_until]
    assert [(p["reason"], p["records_retained"]) for p in await proofs(stack, lapsed)] == [(CONSENT_ENDED, 1)]
    assert len(await snapshots(stack, manager)) == 2
    assert len(await snapshots(stack, special)) == 4
    assert (await user_row(stack, unenrolled))["erased_at"] is None  # no record, nothing to erase

    # Due: the manager's check snapshot goes, then its personal data and remaining face data.
    stored = await snapshots(stack, manager)
    baseline_sha = await sql.fetchval(
        "SELECT encode(sha256(embedding_enc), 'hex') FROM face_baselines WHERE user_id = $1",
        uuid.UUID(manager.user_id),
    )
    stack.clock.set(manager_until)
    due = await stack.job.run_once()
    assert (due.snapshots_deleted, due.baselines_deleted, due.users_erased) == (3, 1, 2)
    assert await snapshots(stack, lapsed) == {}
    assert (await user_row(stack, lapsed))["display_name"] == ERASED_NAME
    assert await snapshots(stack, manager) == {}
    assert len(await snapshots(stack, special)) == 4
    manager_proofs = await proofs(stack, manager)
    assert [(p["reason"], p["records_deleted"]) for p in manager_proofs] == [(SNAPSHOTS_DUE, 1), (RECORDS_DUE, 2)]
    assert {p["run_id"] for p in manager_proofs} == {uuid.UUID(due.run_id)}
    assert {p["actor_id"] for p in manager_proofs} == {f"retention-job:{due.run_id}"}
    # The digests are over what was deleted (ids and ciphertext hashes), not the data itself.
    probe = next(i for i, (_, d) in stored.items() if d is not None)
    baseline_snapshot = next(i for i, (_, d) in stored.items() if d is None)
    by_reason = {p["reason"]: p for p in manager_proofs}
    assert by_reason[SNAPSHOTS_DUE]["digest"] == deletion_digest(
        manager.user_id, manager_until, [DeletedRecord("face_snapshots", probe, stored[probe][0])]
    )
    assert by_reason[RECORDS_DUE]["digest"] == deletion_digest(
        manager.user_id,
        manager_until,
        [
            DeletedRecord("face_baselines", manager.user_id, baseline_sha),
            DeletedRecord("face_snapshots", baseline_snapshot, stored[baseline_snapshot][0]),
        ],
    )
    erased = await user_row(stack, manager)
    assert erased["display_name"] == ERASED_NAME
    assert erased["national_id_enc"] is None
    assert erased["national_id_hash"] is None
    assert erased["phone_enc"] is None
    assert erased["phone_hash"] is None
    assert erased["erased_at"] == manager_until
    assert erased["employer_credit_code"] == manager.employer_code  # organisational, kept for scope
    erasure = await sql.fetchrow("SELECT * FROM personal_data_erasures WHERE user_id = $1", uuid.UUID(manager.user_id))
    assert erasure["run_id"] == uuid.UUID(due.run_id)
    assert erasure["retention_until"] == manager_until
    assert erasure["fields"] == "display_name, national_id, phone, password"
    assert len(erasure["digest"]) == 64
    # The check record itself stays (its snapshot reference is emptied), the account id too.
    assert (
        await sql.fetchval(
            "SELECT count(*) FROM face_checks WHERE user_id = $1 AND snapshot_id IS NULL", uuid.UUID(manager.user_id)
        )
        == 1
    )
    run = await sql.fetchrow("SELECT * FROM retention_runs WHERE id = $1", uuid.UUID(due.run_id))
    assert (run["trigger"], run["dry_run"], run["snapshots_deleted"], run["users_erased"]) == ("command", False, 3, 2)
    # An erased trainee can no longer sign in: its numbers are gone.
    assert not await sql.fetchval(
        "SELECT count(*) FROM users WHERE id = $1 AND national_id_hash IS NOT NULL", uuid.UUID(manager.user_id)
    )

    # A second run at the same moment finds nothing more.
    again = await stack.job.run_once()
    assert (again.snapshots_deleted, again.baselines_deleted, again.users_erased) == (0, 0, 0)
    assert len(await proofs(stack, manager)) == 2
    assert await sql.fetchval("SELECT count(*) FROM personal_data_erasures") == 2

    # One day before the special-operation records are due: nothing of theirs goes.
    stack.clock.set(special_until - DAY)
    assert (await stack.job.run_once()).snapshots_deleted == 0
    assert len(await snapshots(stack, special)) == 4

    # A dry run at the due moment reports what a run would delete and changes nothing.
    stack.clock.set(special_until)
    kept = await snapshots(stack, special)
    dry = await stack.job.run_once(dry_run=True)
    assert (dry.snapshots_deleted, dry.baselines_deleted, dry.users_erased) == (4, 1, 1)
    assert await snapshots(stack, special) == kept
    assert (await user_row(stack, special))["erased_at"] is None
    assert await proofs(stack, special) == []
    real = await stack.job.run_once()
    assert (real.snapshots_deleted, real.baselines_deleted, real.users_erased) == (4, 1, 1)
    assert await snapshots(stack, special) == {}
    assert (await user_row(stack, special))["display_name"] == ERASED_NAME
    assert (
        await sql.fetchval(
            "SELECT count(*) FROM face_checks WHERE id = ANY($1::uuid[])", [uuid.UUID(c) for c in special_checks]
        )
        == 2
    )
    # Every face-check record is still there and the chain still verifies: only blobs and personal
    # columns went.
    assert await chain_intact(stack) == links


async def test_withdrawn_consent_keeps_training_snapshots_until_the_job_deletes_them(stack: Stack) -> None:
    trainee = await face_trainee(stack)
    await enroll(stack, trainee, common_pb2.QUALIFICATION_TYPE_SAFETY_MANAGER_HIGH_RISK, 3)
    await check(stack, trainee)
    until = stack.clock.now().replace(year=stack.clock.now().year + 3)
    withdrawn = await stack.stub.WithdrawFaceConsent(
        pb.WithdrawFaceConsentRequest(reason="I withdraw my consent"), metadata=trainee.metadata
    )
    assert (withdrawn.records_deleted, withdrawn.records_retained) == (2, 1)  # baseline + its photo; one kept
    assert withdrawn.retained_until.ToDatetime(tzinfo=UTC) == until
    assert [d for _, d in (await snapshots(stack, trainee)).values()] == [until]

    stack.clock.set(until)
    await stack.job.run_once()
    assert await snapshots(stack, trainee) == {}
    reasons = [(p["reason"], p["records_deleted"], p["records_retained"]) for p in await proofs(stack, trainee)]
    assert reasons == [("I withdraw my consent", 2, 1), (SNAPSHOTS_DUE, 1, 0)]


async def test_the_command_runs_once_and_records_its_run(test_databases, platform_secrets) -> None:  # type: ignore[no-untyped-def]
    database = await migrated_database(test_databases, "identity_retention", MIGRATIONS)
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDENTITY_")}
    env.update(
        IDENTITY_DATABASE_URL=database,
        IDENTITY_NATS_URL="nats://127.0.0.1:1",  # required by the settings; the command never connects
        IDENTITY_JWT_SIGNING_KEYS=platform_secrets["jwt_signing_keys"],
        IDENTITY_FIELD_ENCRYPTION_KEYS=platform_secrets["field_encryption_keys"],
        IDENTITY_LOOKUP_HASH_KEY=platform_secrets["lookup_hash_key"],
        IDENTITY_LOG_FORMAT="text",
    )
    command = [sys.executable, "-m", "training_identity", "retention", "run", "--dry-run"]
    result = await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "would delete 0 face snapshots and 0 face baselines" in result.stdout
    sql = await asyncpg.connect(database)
    try:
        run = await sql.fetchrow("SELECT * FROM retention_runs")
    finally:
        await sql.close()
    assert (run["trigger"], run["dry_run"]) == ("command", True)
    assert run["finished_at"] is not None
    assert run["id"] == uuid.UUID(result.stdout.split()[2])
