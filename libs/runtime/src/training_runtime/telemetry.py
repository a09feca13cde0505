"""OpenTelemetry set up once per process: tracing and metrics, OTLP export when configured.

Without an endpoint, spans are still created (so trace ids reach logs and event headers) but not
exported. Tests install their own in-memory exporter with `install_span_processor`.
"""

from __future__ import annotations

import logging
import threading

from opentelemetry import metrics, trace
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased

log = logging.getLogger(__name__)

_lock = threading.Lock()
_providers: tuple[TracerProvider, MeterProvider] | None = None


def setup_telemetry(
    service: str,
    *,
    otlp_endpoint: str | None = None,
    sample_ratio: float = 1.0,
    metric_readers: list[MetricReader] | None = None,
    sampler: Sampler | None = None,
) -> tuple[TracerProvider, MeterProvider]:
    """Install the tracer and meter providers once; later calls return the installed ones.

    New traces are sampled at `sample_ratio` and a caller's decision is followed (parent-based),
    unless `sampler` is given (benchmarks switch tracing on and off with their own)."""
    global _providers
    with _lock:
        if _providers is not None:
            return _providers
        resource = Resource.create({"service.name": f"training-{service}", "service.namespace": "training"})
        sampler = sampler or ParentBased(TraceIdRatioBased(sample_ratio))
        tracer_provider = TracerProvider(resource=resource, sampler=sampler)
        readers = list(metric_readers or [])
        if otlp_endpoint:
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
            readers.append(PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=otlp_endpoint)))
        meter_provider = MeterProvider(resource=resource, metric_readers=readers)
        trace.set_tracer_provider(tracer_provider)
        metrics.set_meter_provider(meter_provider)
        # Wraps engine creation: every engine made from now on traces its statements. The
        # instrumentation declares SQLAlchemy < 2.1 and otherwise instruments nothing; its engine
        # events (before/after cursor execute) are the same in 2.1, which
        # tests/observability/test_one_trace.py checks, so the version check is skipped.
        SQLAlchemyInstrumentor().instrument(
            tracer_provider=tracer_provider, meter_provider=meter_provider, skip_dep_check=True
        )
        _providers = (tracer_provider, meter_provider)
        return _providers


def install_span_processor(processor: SpanProcessor) -> None:
    """Add a processor (e.g. an in-memory exporter in tests) to the installed tracer provider."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        raise RuntimeError("telemetry is not set up; call setup_telemetry first")
    provider.add_span_processor(processor)


def flush_telemetry(timeout_millis: int = 5000) -> None:
    if _providers is None:
        return
    tracer_provider, meter_provider = _providers
    try:
        tracer_provider.force_flush(timeout_millis)
        meter_provider.force_flush(timeout_millis)
    except Exception as exc:  # flushing is best effort at shutdown
        log.warning("telemetry flush failed: %s", exc)
