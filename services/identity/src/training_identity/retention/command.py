"""`python -m training_identity retention run [--dry-run]`: one retention run now, from the command
line (needs database access), printing what it deleted or, with --dry-run, what it would delete."""

from __future__ import annotations

import argparse
import asyncio

from training_identity.face.vault import FaceVault
from training_identity.retention.job import RetentionJob, RetentionReport
from training_identity.service import personal_data
from training_identity.settings import IdentitySettings
from training_runtime.clock import SystemClock
from training_runtime.db import Database, UnitOfWork


async def run_retention(settings: IdentitySettings, *, dry_run: bool) -> RetentionReport:
    database = Database(settings.database_url, pool_size=1, application_name="training-identity-retention")
    try:
        clock = SystemClock()
        job = RetentionJob(
            UnitOfWork(database, source="identity", clock=clock), clock, FaceVault(personal_data(settings).cipher)
        )
        return await job.run_once(dry_run=dry_run, trigger="command")
    finally:
        await database.dispose()


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["run"], help="run the retention job once")
    parser.add_argument("--dry-run", action="store_true", help="report what is due without deleting anything")


def run(args: argparse.Namespace, settings: IdentitySettings) -> int:
    print(asyncio.run(run_retention(settings, dry_run=args.dry_run)).summary())
    return 0
