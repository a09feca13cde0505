"""`python -m training_devstack run|migrate`: the local platform (see run.py)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from training_devstack.run import run_platform
from training_devstack.services import installed_services


def migrate_all() -> int:
    """Run `python -m training_<name> migrate` for each service, with the caller's environment."""
    import subprocess

    for launch in installed_services():
        if launch.has_database:
            print(f"==> migrating {launch.name}", flush=True)
            status = subprocess.call([sys.executable, "-m", launch.module, "migrate"])
            if status != 0:
                return status
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m training_devstack")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the whole platform locally")
    run.add_argument("--no-demo", action="store_true", help="skip the demo data")
    run.add_argument("--run-dir", default=os.environ.get("TRAINING_RUN_DIR", ".run"))
    sub.add_parser("migrate", help="apply every installed service's migrations (databases from the environment)")
    args = parser.parse_args()
    if args.command == "migrate":
        sys.exit(migrate_all())
    if args.command == "run":
        try:
            sys.exit(asyncio.run(run_platform(Path(args.run_dir).resolve(), demo=not args.no_demo)))
        except KeyboardInterrupt:
            sys.exit(130)


if __name__ == "__main__":
    main()
