"""`python -m training_identity create-operator`: the first operator account of a deployment.

Every other account is created through the API by an operator (or an institution admin), so the
first one has to come from the command line, with database access.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from training_identity.domain import validation as v
from training_identity.persistence.tables import users
from training_identity.service import passwords
from training_identity.settings import IdentitySettings
from training_runtime.auth.principal import Role
from training_runtime.db import Database


async def create_operator(settings: IdentitySettings, username: str, password: str, display_name: str) -> bool:
    """Create the operator if the username is free; False when it already exists (idempotent)."""
    if problem := v.check_username(username):
        raise SystemExit(f"username {problem}")
    if problem := v.check_password(password, personal=(username,)):
        raise SystemExit(f"password {problem}")
    database = Database(settings.database_url, pool_size=1)
    try:
        async with database.engine.begin() as session:
            if await session.scalar(select(users.c.id).where(users.c.username == username)):
                return False
            now = datetime.now(UTC)
            await session.execute(
                users.insert().values(
                    id=uuid.uuid4(),
                    role=Role.OPERATOR.value,
                    display_name=display_name,
                    username=username,
                    password_hash=await passwords(settings).hash(password),
                    password_changed_at=now,
                    created_at=now,
                    created_by="bootstrap",
                )
            )
        return True
    finally:
        await database.dispose()


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--username", default="operator")
    parser.add_argument("--display-name", default="平台运营")
    parser.add_argument(
        "--password-env",
        default="OPERATOR_PASSWORD",
        help="environment variable holding the password (prompted for when unset)",
    )


def run(args: argparse.Namespace, settings: IdentitySettings) -> int:
    password = os.environ.get(args.password_env) or getpass.getpass("operator password: ")
    created = asyncio.run(create_operator(settings, args.username, password, args.display_name))
    print(f"operator {args.username!r} {'created' if created else 'already exists'}")
    return 0
