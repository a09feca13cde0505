"""`python -m bench [topic ...] [--scale N ...]`: run benchmarks and print their reports.

Without topics, every `bench/bench_*.py` runs. Each benchmark starts what it measures (PostgreSQL,
NATS, services) itself; see bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import pkgutil
import sys
import time
from pathlib import Path

from bench.common import Report, machine


def discover() -> list[str]:
    here = Path(__file__).parent
    return sorted(
        m.name.removeprefix("bench_") for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_")
    )


async def run_all(topics: list[str], scales: list[int]) -> list[Report]:
    reports: list[Report] = []
    for topic in topics:
        module = importlib.import_module(f"bench.bench_{topic}")
        for scale in scales:
            print(f"--- {topic} x{scale} ...", file=sys.stderr, flush=True)
            started = time.perf_counter()
            report: Report = await module.run(scale)
            print(report.render())
            print(f"({time.perf_counter() - started:.1f}s)\n", flush=True)
            reports.append(report)
    return reports


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("topics", nargs="*", help=f"default: all of {', '.join(discover())}")
    parser.add_argument("--scale", type=int, action="append", help="load multiplier (repeatable); default 1")
    args = parser.parse_args()
    topics = args.topics or discover()
    unknown = sorted(set(topics) - set(discover()))
    if unknown:
        raise SystemExit(f"unknown benchmarks: {', '.join(unknown)} (have {', '.join(discover())})")
    print(f"machine: {machine()}\n")
    asyncio.run(run_all(topics, args.scale or [1]))


if __name__ == "__main__":
    main()
