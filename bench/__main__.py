"""`python -m bench [topic[:N,...] ...] [--scale N ...] [--write PATH] [--quick]`: run benchmarks,
print their reports and (with --write) write the performance page.

Without topics, every `bench/bench_*.py` runs. A topic runs at the loads written after it
(`heartbeats:1,2`), else at those --scale gives, else at the loads its module names in `SCALES`
(1x, 2x, 4x for those whose cost depends on the number of trainees), else once at 1x. Each
benchmark starts what it measures (PostgreSQL, NATS, services) itself. `--quick` (or
BENCH_QUICK=1) uses tiny sizes: a check that everything runs and the page is written, not a
measurement. `make bench` is `python -m bench --write docs/performance.md`.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import pkgutil
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

# Run first (and shown first): the benchmarks whose cost grows with the number of trainees.
FIRST = ("heartbeats", "exams", "certificates")
Reports = dict[str, list]  # type: ignore[type-arg]


def discover() -> list[str]:
    here = Path(__file__).parent
    found = sorted(
        m.name.removeprefix("bench_") for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_")
    )
    return [t for t in FIRST if t in found] + [t for t in found if t not in FIRST]


async def run_all(topics: dict[str, list[int]], scales: list[int] | None, done: Callable[[Reports], None]) -> Reports:
    reports: Reports = {}
    for topic, own in topics.items():
        module = importlib.import_module(f"bench.bench_{topic}")
        for scale in own or scales or list(getattr(module, "SCALES", (1,))):
            print(f"--- {topic} x{scale} ...", file=sys.stderr, flush=True)
            started = time.perf_counter()
            report = await module.run(scale)
            print(report.render())
            print(f"({time.perf_counter() - started:.1f}s)\n", flush=True)
            reports.setdefault(topic, []).append(report)
            done(reports)
    return reports


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("topics", nargs="*", help=f"default: all of {', '.join(discover())}")
    parser.add_argument("--scale", type=int, action="append", help="load multiplier (repeatable)")
    parser.add_argument("--write", type=Path, help="write the performance page (docs/performance.md) here")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (checks the run, measures nothing)")
    args = parser.parse_args()
    if args.quick:
        os.environ["BENCH_QUICK"] = "1"  # read by bench.common when the benchmarks are imported
    topics: dict[str, list[int]] = {}
    for spec in args.topics or discover():
        name, _, loads = spec.partition(":")
        topics[name] = [int(n) for n in loads.split(",") if n]
    unknown = sorted(set(topics) - set(discover()))
    if unknown:
        raise SystemExit(f"unknown benchmarks: {', '.join(unknown)} (have {', '.join(discover())})")

    from bench import common, report, tracing

    facts = common.machine_facts()
    print("machine: " + "; ".join(f"{k}: {v}" for k, v in facts.items()) + "\n")
    # Before any service starts: telemetry is set up once per process, with the benchmarks' switch.
    tracing.install()
    started = datetime.now(UTC)

    def write(reports: Reports) -> None:
        """The page after every report: an interrupted run leaves what it measured."""
        if args.write:
            report.write(
                args.write, reports=reports, machine=facts, started=started, quick=common.QUICK, topics=list(topics)
            )

    asyncio.run(run_all(topics, args.scale, write))
    if args.write:
        print(f"wrote {args.write}", file=sys.stderr)


if __name__ == "__main__":
    main()
