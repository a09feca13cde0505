"""Tracing for benchmarks: the process's telemetry with a sampler the benchmark switches between
"off" (every span dropped, as TRACE_SAMPLE_RATIO=0) and "on" (the ratio docs/operations.md
recommends, parent-based, as the services default to), exporting what it samples the way production
does: a BatchSpanProcessor and the OTLP/gRPC exporter, to a stand-in collector on this machine
that accepts every export and discards it.

`install()` must run before any service starts (telemetry is set up once per process).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import grpc
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, SpanKind, TraceState
from opentelemetry.util.types import Attributes

from training_runtime.settings import ProcessSettings
from training_runtime.telemetry import install_span_processor, setup_telemetry

# What the services run with unless configured (ProcessSettings.trace_sample_ratio; the charts' default).
RECOMMENDED_RATIO: float = ProcessSettings.model_fields["trace_sample_ratio"].default


class Switch(Sampler):
    """Tracing on (parent-based at `ratio`) or off (nothing sampled), switchable at run time."""

    def __init__(self, ratio: float) -> None:
        self.ratio = ratio
        self._on = ParentBased(TraceIdRatioBased(ratio))
        self.on = True

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        sampler = self._on if self.on else ALWAYS_OFF
        return sampler.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return f"Switch({self._on.get_description() if self.on else 'off'})"


class Collector:
    """An OTLP/gRPC trace endpoint that accepts every export unread (a collector elsewhere)."""

    def __init__(self) -> None:
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

        self.exports = 0
        self.bytes = 0
        answer = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()

        def export(request: bytes, context: grpc.ServicerContext) -> bytes:
            self.exports += 1
            self.bytes += len(request)
            return answer

        handler = grpc.method_handlers_generic_handler(
            "opentelemetry.proto.collector.trace.v1.TraceService",
            {"Export": grpc.unary_unary_rpc_method_handler(export)},  # raw bytes both ways
        )
        self.server = grpc.server(ThreadPoolExecutor(max_workers=2))
        self.server.add_generic_rpc_handlers((handler,))
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()


class Tracing:
    def __init__(self, ratio: float = RECOMMENDED_RATIO) -> None:
        self.switch = Switch(ratio)
        self.collector = Collector()
        setup_telemetry("bench", sampler=self.switch)
        self.processor = BatchSpanProcessor(
            OTLPSpanExporter(endpoint=f"127.0.0.1:{self.collector.port}", insecure=True)
        )
        install_span_processor(self.processor)

    def set(self, on: bool) -> None:
        self.processor.force_flush()
        self.switch.on = on


_installed: Tracing | None = None


def install() -> Tracing:
    """The process's tracing for benchmarks (installed once)."""
    global _installed
    if _installed is None:
        _installed = Tracing()
    return _installed
