"""Telemetry for tests: the process's providers installed before any service starts, with an
in-memory metric reader (`metric_reader` fixture) and an in-memory span exporter that collects only
while a test holds it (`span_exporter` fixture).

Sampling is what services get by default (TRACE_SAMPLE_RATIO 0.1); a test that needs its spans
starts them under a sampled parent (`sampled_root`).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricsData
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from training_runtime.settings import ProcessSettings
from training_runtime.telemetry import install_span_processor, setup_telemetry

METRICS = InMemoryMetricReader()


def install() -> None:
    """Install the process's telemetry (idempotent; the first call wins, as in a service)."""
    sample_ratio = ProcessSettings.model_fields["trace_sample_ratio"].default
    setup_telemetry("tests", sample_ratio=sample_ratio, metric_readers=[METRICS])


class SwitchableProcessor(SpanProcessor):
    """Hands finished spans to `inner` only while switched on (a provider's processors stay for
    the whole process; the tests after this one should not pay for its exporter)."""

    def __init__(self, inner: SpanProcessor) -> None:
        self.inner = inner
        self.on = True

    def on_end(self, span: ReadableSpan) -> None:
        if self.on:
            self.inner.on_end(span)

    def shutdown(self) -> None:
        self.on = False

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


@contextmanager
def collecting_spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    processor = SwitchableProcessor(SimpleSpanProcessor(exporter))
    install_span_processor(processor)
    try:
        yield exporter
    finally:
        processor.on = False


@contextmanager
def sampled_root() -> Iterator[int]:
    """Run the block in a new trace that is sampled whatever the ratio (as if a client had sent a
    sampled `traceparent`); yields its trace id."""
    trace_id = random.getrandbits(128) or 1
    parent = NonRecordingSpan(
        SpanContext(trace_id, random.getrandbits(64) or 1, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    )
    token = otel_context.attach(trace.set_span_in_context(parent))
    try:
        yield trace_id
    finally:
        otel_context.detach(token)


def read_metrics() -> dict[str, list[tuple[dict[str, object], object]]]:
    """Every metric collected so far: name -> [(attributes, data point)]."""
    data: MetricsData | None = METRICS.get_metrics_data()
    found: dict[str, list[tuple[dict[str, object], object]]] = {}
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    found.setdefault(metric.name, []).append((dict(point.attributes or {}), point))
    return found
