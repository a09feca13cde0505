"""`python -m training_archive export --class <id> --out <file.zip>`: one class's archive, printing
progress; `python -m training_archive verify <file.zip>`: check it against its manifest and links.

The token comes from ARCHIVE_TOKEN, or the command signs in with --login (or ARCHIVE_LOGIN) and
ARCHIVE_PASSWORD (asked for when unset); service addresses from ARCHIVE_*_URL."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from pathlib import Path

import grpc

from training.identity.v1 import identity_pb2, identity_pb2_grpc
from training_archive.builder import ArchiveBuilder, ArchiveRefused
from training_archive.package import verify_zip
from training_archive.settings import ArchiveSettings
from training_runtime.clients import insecure_channel


async def sign_in(settings: ArchiveSettings, login: str) -> str:
    password = settings.password or getpass.getpass(f"password for {login}: ")
    channel = insecure_channel(settings.identity_url)
    try:
        stub = identity_pb2_grpc.IdentityServiceStub(channel)
        answer = await stub.Login(identity_pb2.LoginRequest(login=login, password=password), timeout=15)
        return answer.tokens.access_token
    finally:
        await channel.close()


async def export(settings: ArchiveSettings, class_id: str, out: Path, login: str) -> int:
    login = login or settings.login
    if not settings.token and not login:
        print("set ARCHIVE_TOKEN, or sign in with --login (or ARCHIVE_LOGIN)", file=sys.stderr)
        return 2
    try:
        token = settings.token or await sign_in(settings, login)
    except grpc.aio.AioRpcError as exc:
        print(f"sign-in failed: {exc.code().name} {exc.details()}", file=sys.stderr)
        return 2
    builder = ArchiveBuilder(
        settings.targets, rulebooks=settings.rulebook_specs, timeout_seconds=settings.timeout_seconds
    )

    def progress(step: int, steps: int, what: str) -> None:
        print(f"[{step}/{steps}] {what}", flush=True)

    try:
        archive = await builder.build(class_id, token, progress)
    except ArchiveRefused as exc:
        print(f"refused ({exc.code}): {exc.detail}", file=sys.stderr)
        return 3
    except grpc.aio.AioRpcError as exc:
        print(f"a service failed: {exc.code().name} {exc.details()}", file=sys.stderr)
        return 4
    finally:
        await builder.close()
    size = archive.write(out)
    print(f"wrote {out} ({size} bytes, {len(archive.files)} files)")
    for chain in archive.data["chains"].values():
        if not chain["available"]:
            print(f"note: {chain['unavailable_reason']}")
    if not archive.data["face_checks"]["available"]:
        refused = archive.data["face_checks"]["refused"]["detail"]
        print(f"note: face-check records and snapshots withheld by identity: {refused}")
    return 0


def verify(path: Path) -> int:
    problems = verify_zip(path.read_bytes())
    for problem in problems:
        print(problem)
    print(f"{path}: {'intact' if not problems else f'{len(problems)} problem(s)'}")
    return 0 if not problems else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training_archive", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("export", help="export one training class's archive as a ZIP")
    run.add_argument("--class", dest="class_id", required=True, help="the training class's id")
    run.add_argument("--out", required=True, type=Path, help="the ZIP file to write")
    run.add_argument("--login", default="", help="sign in as this account (else ARCHIVE_TOKEN or ARCHIVE_LOGIN)")
    check = commands.add_parser("verify", help="check a ZIP against its manifest and its chain links")
    check.add_argument("zip", type=Path, help="the archive ZIP")
    args = parser.parse_args(argv)
    if args.command == "verify":
        return verify(args.zip)
    return asyncio.run(export(ArchiveSettings(), args.class_id, args.out, args.login))


if __name__ == "__main__":
    sys.exit(main())
