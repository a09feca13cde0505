"""What every benchmark reports: figures beside a same-run baseline, their ratio and the goal.

A benchmark module is `bench/bench_<topic>.py` exposing `async def run(scale: int) -> Report`;
`scale` multiplies the load (1x, 2x, 4x) so the report can show how cost grows. Absolute numbers on
a shared 2-core machine are noise; the ratio to a baseline taken seconds earlier is the figure.
"""

from __future__ import annotations

import os
import platform
import statistics
from dataclasses import dataclass, field


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

    def render(self) -> str:
        lines = [f"## {self.title} (load x{self.scale})", ""]
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
