"""W3C trace context carried in event headers, and the spans around publish and consume."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind

_tracer = trace.get_tracer("training_events")


def current_trace_headers() -> dict[str, str]:
    """The current context as `traceparent`/`tracestate` headers (empty when nothing is traced)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


@contextmanager
def publish_span(subject: str, headers: dict[str, str]) -> Iterator[Span]:
    """A producer span, child of the context stored with the event; re-injects its own context."""
    parent = propagate.extract(headers)
    with _tracer.start_as_current_span(
        f"{subject} publish",
        context=parent,
        kind=SpanKind.PRODUCER,
        attributes={"messaging.system": "nats", "messaging.destination.name": subject},
    ) as span:
        propagate.inject(headers)
        yield span


@contextmanager
def consume_span(subject: str, consumer: str, headers: Mapping[str, str]) -> Iterator[Span]:
    """A consumer span continuing the trace carried in the message headers."""
    parent = propagate.extract(dict(headers))
    token = otel_context.attach(parent)
    try:
        with _tracer.start_as_current_span(
            f"{subject} process",
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.destination.name": subject,
                "messaging.consumer.group.name": consumer,
            },
        ) as span:
            yield span
    finally:
        otel_context.detach(token)
