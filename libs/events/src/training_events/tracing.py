"""W3C trace context carried in event headers, and the spans around publish and consume.

What "one trace" means across the backbone (docs/operations.md, "Traces"):
- an event's outbox row stores the context current when it was written (`current_trace_headers`),
  the relay's publish span is that context's child, and each consumer's process span is the publish
  span's child; whatever a handler emits continues the same trace;
- work done later for a request by a background task (group commit writers, the supervision pusher)
  runs under the context captured with the request (`captured`, `restored`, `context_from_headers`);
- where one piece of work joins several traces (a certificate waits for a completion and a passed
  exam; one push request carries records of several trainees), it is the child of one of them and
  carries span links to the others (`links_from_headers`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanContext, SpanKind

_tracer = trace.get_tracer("training_events")


def current_trace_headers() -> dict[str, str]:
    """The current context as `traceparent`/`tracestate` headers (empty when nothing is traced)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def captured() -> Context:
    """The current context, to be restored where work done for it continues in another task."""
    return otel_context.get_current()


@contextmanager
def restored(context: Context | None) -> Iterator[None]:
    """Run the block under `context` (a no-op for None)."""
    if context is None:
        yield
        return
    token = otel_context.attach(context)
    try:
        yield
    finally:
        otel_context.detach(token)


def span_context_from_headers(headers: Mapping[str, str] | None) -> SpanContext | None:
    """The span context stored in `traceparent` headers, or None."""
    if not headers:
        return None
    span_context = trace.get_current_span(propagate.extract(dict(headers))).get_span_context()
    return span_context if span_context.is_valid else None


def context_from_headers(headers: Mapping[str, str] | None) -> Context | None:
    """A context whose parent is the span stored in `headers` (None when they hold none)."""
    if span_context_from_headers(headers) is None:
        return None
    return propagate.extract(dict(headers or {}))


def links_from_headers(stored: Iterable[Mapping[str, str] | None], *, besides: SpanContext | None = None) -> list[Link]:
    """Span links to each distinct stored context, leaving out `besides` (usually the parent)."""
    links: list[Link] = []
    seen = {(besides.trace_id, besides.span_id)} if besides is not None and besides.is_valid else set()
    for headers in stored:
        span_context = span_context_from_headers(headers)
        if span_context is None or (span_context.trace_id, span_context.span_id) in seen:
            continue
        seen.add((span_context.trace_id, span_context.span_id))
        links.append(Link(span_context))
    return links


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
