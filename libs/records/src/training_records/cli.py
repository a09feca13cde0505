"""`python -m training_records verify --service <name> [--chain X]`: recompute a service's chains from
its database and exit non-zero naming the first break (docs/records.md).

Services register their chains under the entry-point group `training.record_chains`; the database URL
comes from the service's own settings variable (e.g. LEARNING_DATABASE_URL) unless --database-url is given.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from importlib.metadata import entry_points
from typing import TextIO

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.ext.asyncio import create_async_engine

from training_records.chain import ChainSet
from training_records.verify import Verification, verify_chain
from training_runtime.settings import DatabaseUrl, SettingsError, load_settings, normalize_database_url

GROUP = "training.record_chains"


def registered() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=GROUP)}


def load_chains(service: str) -> ChainSet:
    for ep in entry_points(group=GROUP):
        if ep.name == service:
            chains = ep.load()
            assert isinstance(chains, ChainSet)
            return chains
    raise KeyError(service)


def database_url_of(chains: ChainSet) -> str:
    prefix = chains.settings.model_config.get("env_prefix", "") if chains.settings is not None else ""

    class DatabaseOnly(BaseSettings):
        model_config = SettingsConfigDict(env_prefix=prefix, extra="ignore", frozen=True)
        database_url: DatabaseUrl

    return load_settings(DatabaseOnly).database_url


class _Progress:
    """Prints how far a long verification has come, at most once a second."""

    def __init__(self, out: TextIO, every: float = 1.0) -> None:
        self._out = out
        self._every = every
        self._last = time.monotonic()

    def __call__(self, chain: str, checked: int) -> None:
        now = time.monotonic()
        if now - self._last >= self._every:
            self._last = now
            print(f"{chain}: {checked} links checked ...", file=self._out, flush=True)


def describe(v: Verification) -> str:
    if v.first_break is None:
        return f"{v.chain}: intact, {v.links_checked} links, head {v.head_hash}"
    b = v.first_break
    record = f" record {b.record_id}" if b.record_id else ""
    return f"{v.chain}: BROKEN at position {b.position}{record}: {b.problem.value}: {b.detail}"


async def verify(
    chains: ChainSet, url: str, names: list[str], *, out: TextIO, err: TextIO, progress_every: float = 1.0
) -> int:
    engine = create_async_engine(normalize_database_url(url), pool_size=1)
    broken = 0
    try:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="REPEATABLE READ")
            for name in names:
                result = await verify_chain(connection, chains, name, progress=_Progress(err, progress_every))
                print(describe(result), file=out, flush=True)
                broken += not result.intact
    finally:
        await engine.dispose()
    return 1 if broken else 0


def main(argv: list[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    parser = argparse.ArgumentParser(prog="python -m training_records")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("verify", help="recompute a service's record chains and name the first break")
    check.add_argument("--service", required=True, help=f"one of: {', '.join(sorted(registered())) or 'none'}")
    check.add_argument("--chain", help="one chain (default: every chain of the service)")
    check.add_argument("--database-url", help="instead of the service's <SERVICE>_DATABASE_URL")
    args = parser.parse_args(argv)
    try:
        chains = load_chains(args.service)
    except KeyError:
        print(f"unknown service {args.service!r}; chained services: {', '.join(sorted(registered()))}", file=err)
        return 2
    if args.chain and args.chain not in chains.chains:
        print(f"unknown chain {args.chain!r}; {args.service} keeps {', '.join(chains.chains)}", file=err)
        return 2
    try:
        url = args.database_url or database_url_of(chains)
    except SettingsError as exc:
        print(exc.message, file=err)
        return 2
    names = [args.chain] if args.chain else list(chains.chains)
    return asyncio.run(verify(chains, url, names, out=out, err=err))
