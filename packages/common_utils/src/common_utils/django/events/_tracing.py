"""Spans and counters of the event path: ``publish()``, the relay's send, the consumer's handling.

The spans follow OpenTelemetry's messaging conventions, named after the event type (the routing
key, a bounded set):

- ``create <type>`` (PRODUCER) in ``publish()``, inside the caller's transaction. Its context is
  the event's creation context: it is injected into the envelope's ``traceparent`` (and
  ``tracestate``) and so stored with the outbox row.
- ``send <type>`` (CLIENT: its context is not the creation context, so the conventions make it a
  client call to the broker) for each event the relay sends, linked to the creation context read
  back from the row, and its child: the relay has no trace of its own, so an order's trace goes on
  through the relay.
- ``process <type>`` (CONSUMER) for each delivery in the consumer's worker, linked to the creation
  context and its child, so one order is one trace from the first request to the last consumer.
  Retries and dead-lettering are span events; a failed handler or a dead letter sets the status
  to error with ``error.type``.

With OpenTelemetry's Celery instrumentation on, its ``apply_async`` and ``run`` spans are the send
and process spans: Commons adds its attributes and the link to them and makes no span of its own
(and the relay sends inside the creation context, so the instrumentation's span is its child).

Counters (``{event}``), labelled by the registered event type (``unknown`` for any other, so the
label set stays the registered types) and by bounded values only (database alias, queue, outcome,
dead-letter reason): ``commons.events.published`` (counted when the publishing transaction
commits), ``commons.events.relayed`` (by ``commons.outcome``: sent, retry, parked),
``commons.events.handled`` and ``commons.events.dead_lettered``.

With no OpenTelemetry SDK configured, spans and counters are no-ops: nothing is recorded and
nothing fails. The envelope then carries the trace context current at ``publish()``, if any.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import metrics, propagate, trace
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from common_utils.__about__ import __version__
from common_utils._tracing import is_instrumented, records_spans, tracer

if TYPE_CHECKING:
    from common_utils._events import Envelope, EventRegistry

# Proxies: they follow the providers a service sets later, so taking them at import is safe.
meter = metrics.get_meter("common_utils", __version__)

UNKNOWN_TYPE = "unknown"
"""The ``cloudevents.event_type`` label of an event type this process has not registered."""

_published = meter.create_counter(
    "commons.events.published",
    unit="{event}",
    description="Events written to an outbox by a transaction that committed.",
)
_relayed = meter.create_counter(
    "commons.events.relayed",
    unit="{event}",
    description="Outbox rows the relay sent (sent), will send again (retry) or parked (parked).",
)
_handled = meter.create_counter(
    "commons.events.handled",
    unit="{event}",
    description="Events a consumer handled (each delivery that ran its handlers to the end).",
)
_dead_lettered = meter.create_counter(
    "commons.events.dead_lettered",
    unit="{event}",
    description="Events a consumer kept as dead letters instead of handling them.",
)


def messaging_system(broker_url: str | None) -> str:
    """The ``messaging.system`` of a broker URL: ``rabbitmq``, ``redis``, or the URL's scheme."""
    scheme = (broker_url or "amqp://").partition("://")[0].partition("+")[0].lower()
    if scheme in {"amqp", "amqps", "pyamqp", "librabbitmq"}:
        return "rabbitmq"
    if scheme in {"redis", "rediss", "sentinel"}:
        return "redis"
    return scheme or "unknown"


def _configured_system() -> str:
    from django.conf import settings

    return messaging_system(getattr(settings, "CELERY_BROKER_URL", None))


def type_label(event_type: object, registry: EventRegistry | None = None) -> str:
    """``event_type`` if ``registry`` (default: the process-wide one) knows it, else ``unknown``."""
    if registry is None:
        from common_utils._events import events

        registry = events
    return event_type if isinstance(event_type, str) and event_type in registry else UNKNOWN_TYPE


def _creation_context(fields: Mapping[str, Any]) -> otel_context.Context | None:
    """The creation context an event carries (``traceparent``, ``tracestate``), or ``None``."""
    carrier = {
        name: value
        for name in ("traceparent", "tracestate")
        if isinstance(value := fields.get(name), str)
    }
    if "traceparent" not in carrier:
        return None
    ctx = propagate.extract(carrier, context=otel_context.Context())
    return ctx if trace.get_current_span(ctx).get_span_context().is_valid else None


# --- publish ------------------------------------------------------------------------------------


@contextmanager
def creating(event: Envelope[Any], alias: str) -> Iterator[dict[str, str]]:
    """The ``create`` span around writing ``event`` to the outbox of ``alias``.

    Yields the envelope fields that carry the creation context (``traceparent``, ``tracestate``),
    empty when there is none to carry: the envelope then keeps the trace context ``new_event()``
    gave it. With no SDK configured there is no span to carry and nothing is done.
    """
    if not records_spans():
        yield {}
        return
    attributes = {
        "messaging.operation.type": "create",
        "messaging.operation.name": "create",
        "messaging.system": _configured_system(),
        "messaging.message.id": event.id,
        "messaging.rabbitmq.destination.routing_key": event.type,
        "cloudevents.event_id": event.id,
        "cloudevents.event_type": event.type,
        "cloudevents.event_source": event.source,
        "db.namespace": alias,
    }
    if event.subject is not None:
        attributes["cloudevents.event_subject"] = event.subject
    with tracer.start_as_current_span(
        f"create {event.type}", kind=SpanKind.PRODUCER, attributes=attributes
    ):
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        yield {name: carrier[name] for name in ("traceparent", "tracestate") if carrier.get(name)}


def count_published_on_commit(event_type: str, alias: str) -> None:
    """Count one published event of ``event_type`` when the transaction on ``alias`` commits."""
    from django.db import transaction

    attributes = {"cloudevents.event_type": type_label(event_type), "database": alias}
    transaction.on_commit(lambda: _published.add(1, attributes), using=alias)


# --- the relay ----------------------------------------------------------------------------------

# The relay reads the creation context from the stored JSON without parsing it a second time:
# the payload is the envelope as ``Envelope.to_json()`` wrote it (no spaces, these names once).
_TRACE_FIELD = re.compile(r'"(traceparent|tracestate)":"([^"\\]*)"')


class SendSpans:
    """The ``send`` spans of one relay batch, ended with each message's outcome.

    ``sending(pk, event_id, event_type, payload)`` wraps the broker send of one row; ``sent(pk)``
    and ``failed(pk, error)`` end its span once the broker confirmed (or refused) it.
    """

    def __init__(self, *, alias: str, exchange: str, broker_url: str | None, size: int) -> None:
        self.alias = alias
        self.exchange = exchange
        self.system = messaging_system(broker_url)
        self.size = size
        self._spans: dict[int, trace.Span] = {}

    @contextmanager
    def sending(self, pk: int, event_id: str, event_type: str, payload: str) -> Iterator[None]:
        """Run the send of one outbox row inside its span (or the instrumentation's)."""
        creation = _creation_context(dict(_TRACE_FIELD.findall(payload)))
        attributes: dict[str, str | int] = {
            "messaging.operation.type": "send",
            "messaging.operation.name": "send",
            "messaging.system": self.system,
            "messaging.destination.name": self.exchange,
            "messaging.rabbitmq.destination.routing_key": event_type,
            "messaging.message.id": event_id,
            "cloudevents.event_id": event_id,
            "cloudevents.event_type": event_type,
            "db.namespace": self.alias,
            "commons.outbox.batch_size": self.size,
        }
        if is_instrumented("celery"):
            # The instrumentation's apply_async span is the send span: sent in the creation
            # context, it becomes that context's child and injects itself into the headers.
            token = otel_context.attach(creation) if creation is not None else None
            try:
                yield
            finally:
                if token is not None:
                    otel_context.detach(token)
            return
        links = (
            [] if creation is None else [Link(trace.get_current_span(creation).get_span_context())]
        )
        span = tracer.start_span(
            f"send {event_type}",
            context=creation or otel_context.Context(),
            kind=SpanKind.CLIENT,
            attributes=attributes,
            links=links,
        )
        self._spans[pk] = span
        try:
            with trace.use_span(span, end_on_exit=False, record_exception=False):
                yield
        except BaseException as exc:
            self.failed(pk, f"{type(exc).__name__}: {exc}", error_type=type(exc).__qualname__)
            raise

    def sent(self, pk: int) -> None:
        """The broker holds the row's message: its span ends well."""
        span = self._spans.pop(pk, None)
        if span is not None:
            span.end()

    def failed(self, pk: int, error: str, *, error_type: str = "publish_failed") -> None:
        """The row's message was not sent or not confirmed: its span ends in error."""
        span = self._spans.pop(pk, None)
        if span is not None:
            span.set_attribute("error.type", error_type)
            span.set_status(Status(StatusCode.ERROR, error[:500]))
            span.end()

    def close(self) -> None:
        """End the spans of rows neither confirmed nor failed (the relay stopped)."""
        for span in self._spans.values():
            span.end()
        self._spans.clear()


def count_relayed(alias: str, *, sent: int, retry: int, parked: int) -> None:
    """Count what one relay batch did with its rows."""
    for outcome, count in (("sent", sent), ("retry", retry), ("parked", parked)):
        if count:
            _relayed.add(count, {"database": alias, "commons.outcome": outcome})


# --- the consumer -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Delivery:
    """What the consumer did with the delivery being processed."""

    span: trace.Span
    event_type: str
    queue: str
    dead_lettered: bool = False


_delivery: contextvars.ContextVar[_Delivery | None] = contextvars.ContextVar(
    "common_utils_event_delivery", default=None
)


@contextmanager
def processing(
    event: object,
    *,
    queue: str,
    exchange: str,
    broker_url: str | None,
    registry: EventRegistry,
    attempt: int,
    is_retry: Callable[[BaseException], bool],
) -> Iterator[None]:
    """The ``process`` span of one delivery of ``event`` (as received) to the consumer ``queue``.

    ``is_retry(exc)`` tells the exception that sends the event back to the queue (Celery's
    ``Retry``) from a failure.
    """
    fields: Mapping[str, Any] = event if isinstance(event, dict) else {}
    event_type = fields.get("type")
    label = type_label(event_type, registry)
    if not records_spans():  # no span to make or describe: the counters only
        yield from _delivered(trace.INVALID_SPAN, label, queue, is_retry)
        return
    creation = _creation_context(fields)
    attributes: dict[str, str | int] = {
        "messaging.operation.type": "process",
        "messaging.operation.name": "process",
        "messaging.system": messaging_system(broker_url),
        "messaging.destination.name": exchange,
        "messaging.consumer.group.name": queue,
        "commons.event.attempt": attempt,
    }
    for name, attribute in (
        ("id", "cloudevents.event_id"),
        ("source", "cloudevents.event_source"),
        ("subject", "cloudevents.event_subject"),
    ):
        if isinstance(value := fields.get(name), str):
            attributes[attribute] = value
    if isinstance(event_type, str):
        attributes["cloudevents.event_type"] = event_type
        attributes["messaging.rabbitmq.destination.routing_key"] = event_type
    if isinstance(fields.get("id"), str):
        attributes["messaging.message.id"] = fields["id"]
    link = None if creation is None else trace.get_current_span(creation).get_span_context()
    if is_instrumented("celery"):
        # The instrumentation's run span is the process span: Commons only describes it.
        span = trace.get_current_span()
        span.set_attributes(attributes)
        if link is not None:
            span.add_link(link)
        yield from _delivered(span, label, queue, is_retry)
        return
    with tracer.start_as_current_span(
        f"process {event_type if isinstance(event_type, str) else UNKNOWN_TYPE}",
        context=creation or otel_context.Context(),
        kind=SpanKind.CONSUMER,
        attributes=attributes,
        links=[] if link is None else [Link(link)],
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        yield from _delivered(span, label, queue, is_retry)


def _delivered(
    span: trace.Span, label: str, queue: str, is_retry: Callable[[BaseException], bool]
) -> Iterator[None]:
    delivery = _Delivery(span=span, event_type=label, queue=queue)
    token = _delivery.set(delivery)
    try:
        yield
    except BaseException as exc:
        if is_retry(exc):
            cause = getattr(exc, "exc", None)
            if isinstance(cause, BaseException):
                span.add_event(
                    "retry",
                    {"error.type": type(cause).__qualname__, "exception.message": str(cause)[:500]},
                )
                span.set_attribute("error.type", type(cause).__qualname__)
                span.set_status(Status(StatusCode.ERROR, f"{type(cause).__name__}: {cause}"[:500]))
            else:  # waiting for the key's earlier event: not a failure
                span.add_event("retry", {"commons.retry.reason": "waiting_for_earlier_event"})
        else:
            span.record_exception(exc)
            span.set_attribute("error.type", type(exc).__qualname__)
            span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"[:500]))
        raise
    else:
        if not delivery.dead_lettered:
            _handled.add(
                1, {"cloudevents.event_type": label, "messaging.consumer.group.name": queue}
            )
    finally:
        _delivery.reset(token)


def record_dead_letter(event_type: object, *, queue: str, reason: str, error: str) -> None:
    """Record on the delivery's span, and count, that its event became a dead letter."""
    delivery = _delivery.get()
    label = delivery.event_type if delivery is not None else type_label(event_type)
    _dead_lettered.add(
        1,
        {
            "cloudevents.event_type": label,
            "messaging.consumer.group.name": queue,
            "commons.dead_letter.reason": str(reason),
        },
    )
    if delivery is None:
        return
    delivery.dead_lettered = True
    span = delivery.span
    span.add_event(
        "dead_lettered", {"commons.dead_letter.reason": reason, "exception.message": error[:500]}
    )
    span.set_attribute("error.type", reason)
    span.set_status(Status(StatusCode.ERROR, f"dead-lettered ({reason}): {error}"[:500]))
