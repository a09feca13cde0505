"""What every benchmark reports: figures beside a same-run baseline, their ratio and the goal.

A benchmark module is `bench/bench_<topic>.py` exposing `async def run(scale: int) -> Report`;
`scale` multiplies the load (1x, 2x, 4x) so the report can show how cost grows. Absolute numbers on
a shared 2-core machine are noise; the ratio to a baseline taken seconds earlier is the figure.
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import subprocess
from dataclasses import dataclass, field

# `python -m bench --quick` (or BENCH_QUICK=1): tiny sizes, so the whole report can be generated
# end to end in a test. Its figures mean nothing; only the report's shape is checked.
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")


def sized(full: float, quick: float) -> float:
    """A size or duration: `full` for a real run, `quick` in quick mode."""
    return quick if QUICK else full


def sized_int(full: int, quick: int) -> int:
    return quick if QUICK else full


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    # The same-run baseline this figure is compared with (None for a figure that stands alone).
    baseline_name: str | None = None
    baseline_value: float | None = None
    # "higher" means value/baseline should be high (throughput); "lower" for latency.
    better: str = "higher"
    goal: str = ""
    # Filled by the benchmark when there is a goal: True met, False missed.
    met: bool | None = None
    # A stable name for the figure across loads (its `name` may mention the load): the report's
    # "how cost grows with load" table follows figures that have one.
    key: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline_value in (None, 0):
            return None
        return self.value / self.baseline_value  # type: ignore[operator]


@dataclass
class Report:
    title: str
    scale: int
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # What the load was at this scale ("64 study sessions"), for the growth table.
    load: str = ""

    def render(self, heading: str = "##") -> str:
        lines = [f"{heading} {self.title} (load x{self.scale})", ""]
        lines.append("| figure | value | baseline | ratio | goal | met |")
        lines.append("| --- | --- | --- | --- | --- | --- |")
        for f in self.figures:
            base = f"{f.baseline_name}: {f.baseline_value:,.1f}" if f.baseline_value is not None else "—"
            ratio = f"{f.ratio:.2f}" if f.ratio is not None else "—"
            met = {True: "yes", False: "NO", None: "—"}[f.met]
            lines.append(f"| {f.name} | {f.value:,.1f} {f.unit} | {base} | {ratio} | {f.goal or '—'} | {met} |")
        lines.extend(f"- {note}" for note in self.notes)
        return "\n".join(lines)


def percentile(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(samples: list[float]) -> float:
    return statistics.median(samples) if samples else float("nan")


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def _first_line(path: str, prefix: str) -> str:
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def _command_version(*command: str) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr).strip() else "unknown"


def _postgres_version() -> str:
    """The server benchmarks run against: TRAINING_TEST_POSTGRES_URL when it answers, else the embedded one."""
    url = os.environ.get("TRAINING_TEST_POSTGRES_URL")
    if url:
        try:
            import asyncpg

            async def ask() -> str:
                conn = await asyncpg.connect(url, timeout=3)
                try:
                    return str(await conn.fetchval("SHOW server_version"))
                finally:
                    await conn.close()

            return f"PostgreSQL {asyncio.run(ask())} (TRAINING_TEST_POSTGRES_URL)"
        except Exception:  # not answering: the benchmarks start the embedded one
            pass
    from training_devstack.embedded import _postgres_binaries

    return f"{_command_version(str(_postgres_binaries() / 'postgres'), '--version')} (embedded)"


def machine_facts() -> dict[str, str]:
    """What the report states about the machine the figures were measured on."""
    from training_devstack.embedded import nats_server_binary

    kib = _first_line("/proc/meminfo", "MemTotal").split()[0] if _first_line("/proc/meminfo", "MemTotal") else ""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "CPU": _first_line("/proc/cpuinfo", "model name") or platform.processor() or platform.machine(),
        "cores": str(os.cpu_count()),
        "RAM": f"{int(kib) / 1024 / 1024:.1f} GiB" if kib else "unknown",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "PostgreSQL": _postgres_version(),
        "NATS": _command_version(nats_server_binary(), "--version"),
        "load average at start (1, 5, 15 min)": ", ".join(f"{x:.2f}" for x in load),
    }
