"""The event path on OpenTelemetry: one trace from the publishing request to the consumer.

``publish()`` makes a ``create`` span whose context the envelope carries; the relay's ``send``
span and the consumer's ``process`` span are its children and link to it. With OpenTelemetry's
Celery instrumentation on, its spans take the place of the relay's and the consumer's (never two
spans for one send or one delivery). Counters and the backlog gauges go through the metrics API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from cu_testproject.cu_orders.models import Order
from cu_testproject.events import OrderPlaced, new_order_event
from django.db import transaction
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanContext, SpanKind, StatusCode
from otel_sdk import Telemetry, install

from common_utils.django import atomic_for, publish
from common_utils.django.events import OutboxRelay
from common_utils.django.models import OutboxMessage, ProcessedEvent

ALL = ["default", "orders", "billing", "orders_replica"]
PLACED = "cu.orders.order_placed.v1"


@pytest.fixture
def telemetry() -> Telemetry:
    """The SDK's in-memory exporter and reader, emptied of what earlier tests recorded."""
    sdk = install()
    sdk.spans.clear()
    return sdk


@pytest.fixture
def celery_instrumented(telemetry: Telemetry) -> Iterator[None]:
    """OpenTelemetry's Celery instrumentation, on for one test."""
    from opentelemetry.instrumentation.celery import CeleryInstrumentor

    instrumentor = CeleryInstrumentor()  # type: ignore[no-untyped-call]
    instrumentor.instrument()
    try:
        yield
    finally:
        instrumentor.uninstrument()


def _place_in_a_request(total: int = 10) -> tuple[SpanContext, str]:
    """Publish an order's event inside a request-like span; return that span and the event id."""
    tracer = trace.get_tracer("tests")
    with (
        tracer.start_as_current_span("GET /orders/", kind=SpanKind.SERVER) as request_span,
        atomic_for(Order),
    ):
        order = Order.objects.create(total=total)
        event = new_order_event(OrderPlaced(order_id=order.pk, total=total))
        publish(event)
    return request_span.get_span_context(), event.id


def _context(span: ReadableSpan) -> SpanContext:
    context = span.get_span_context()
    assert isinstance(context, SpanContext)
    return context


def _one(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    found = [span for span in spans if span.name == name]
    assert len(found) == 1, f"{name}: {[span.name for span in spans]}"
    return found[0]


def _relay_and_handle(app: Any, wait: Any, event_id: str) -> None:
    relay = OutboxRelay(app, aliases=["orders"], batch_size=5)
    try:
        assert relay.relay_pending() == 1
    finally:
        relay.close()
    wait(
        lambda: ProcessedEvent.objects.using("billing").filter(event_id=event_id).exists(),
        what="the event handled",
    )


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_publish_relay_and_consumer_make_one_trace(
    broker: Any, consumer_worker: Any, telemetry: Telemetry, wait: Any
) -> None:
    from cu_testproject.celery_app import app

    with consumer_worker(broker):
        request_span, event_id = _place_in_a_request()
        _relay_and_handle(app, wait, event_id)
        wait(lambda: telemetry.finished(name_prefix="process "), what="the process span")
    spans = telemetry.finished()
    create = _one(spans, f"create {PLACED}")
    send = _one(spans, f"send {PLACED}")
    process = _one(spans, f"process {PLACED}")
    request = request_span
    # One trace: the request, the outbox write, the relay's send and the consumer's handling.
    assert {_context(create).trace_id, _context(send).trace_id, _context(process).trace_id} == {
        request.trace_id
    }
    assert create.parent is not None
    assert create.parent.span_id == request.span_id
    for span in (send, process):
        assert span.parent is not None
        assert span.parent.span_id == _context(create).span_id
        assert [link.context.span_id for link in span.links] == [_context(create).span_id]
    assert (create.kind, send.kind, process.kind) == (
        SpanKind.PRODUCER,
        SpanKind.CLIENT,
        SpanKind.CONSUMER,
    )
    system = {"amqp": "rabbitmq", "redis": "redis", "filesystem": "filesystem"}[broker.kind]
    assert send.attributes is not None
    assert process.attributes is not None
    assert send.attributes["messaging.system"] == system
    assert send.attributes["messaging.destination.name"] == "commons.events"
    assert send.attributes["commons.outbox.batch_size"] == 1
    assert process.attributes["messaging.consumer.group.name"] == "cu.billing.events"
    assert process.attributes["cloudevents.event_id"] == event_id
    assert process.status.status_code == StatusCode.UNSET
    # The creation context is what the stored envelope carries.
    row = OutboxMessage.objects.using("orders").get(event_id=event_id)
    carried = json.loads(row.payload)["traceparent"]
    assert carried.startswith(
        f"00-{trace.format_trace_id(_context(create).trace_id)}-"
        f"{trace.format_span_id(_context(create).span_id)}-"
    )
    # And the counters saw one event of the registered type go each step of the way.
    assert (
        telemetry.counter("commons.events.published")[
            frozenset({("cloudevents.event_type", PLACED), ("database", "orders")})
        ]
        >= 1
    )
    handled = telemetry.counter("commons.events.handled")
    assert (
        handled[
            frozenset(
                {
                    ("cloudevents.event_type", PLACED),
                    ("messaging.consumer.group.name", "cu.billing.events"),
                }
            )
        ]
        >= 1
    )
    relayed = telemetry.counter("commons.events.relayed")
    assert relayed[frozenset({("database", "orders"), ("commons.outcome", "sent")})] >= 1


@pytest.mark.django_db(databases=ALL, transaction=True)
@pytest.mark.usefixtures("celery_instrumented")
def test_with_the_celery_instrumentation_no_span_is_doubled(
    consumer_worker: Any, telemetry: Telemetry, wait: Any
) -> None:
    from conftest import _filesystem_broker
    from cu_testproject.celery_app import app

    with consumer_worker(_filesystem_broker("otel-celery")):
        request_span, event_id = _place_in_a_request()
        _relay_and_handle(app, wait, event_id)
        wait(lambda: telemetry.finished(name_prefix="run/"), what="the run span")
    spans = telemetry.finished()
    create = _one(spans, f"create {PLACED}")
    apply_async = _one(spans, "apply_async/common_utils.deliver_event")
    run = _one(spans, "run/common_utils.deliver_event")
    # The instrumentation's spans are the send and the process spans: Commons made none.
    assert not [span for span in spans if span.name.startswith(("send ", "process "))]
    assert [span.kind for span in spans if span.kind == SpanKind.CONSUMER] == [SpanKind.CONSUMER]
    trace_id = request_span.trace_id
    assert {_context(create).trace_id, _context(apply_async).trace_id, _context(run).trace_id} == {
        trace_id
    }
    assert apply_async.parent is not None
    assert apply_async.parent.span_id == _context(create).span_id
    assert run.parent is not None
    assert run.parent.span_id == _context(apply_async).span_id
    # Commons described the instrumentation's run span and linked it to the creation context.
    assert run.attributes is not None
    assert run.attributes["cloudevents.event_id"] == event_id
    assert run.attributes["messaging.operation.type"] == "process"
    assert [link.context.span_id for link in run.links] == [_context(create).span_id]


@pytest.fixture
def poisoned() -> Iterator[set[int]]:
    from cu_testproject.consumer import POISONED_ORDERS

    try:
        yield POISONED_ORDERS
    finally:
        POISONED_ORDERS.clear()


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_retries_and_dead_letters_are_on_the_process_span(
    telemetry: Telemetry, poisoned: set[int]
) -> None:
    from cu_testproject.consumer import consumer

    from common_utils.django.models import DeadLetter

    poisoned.add(7)
    envelope = new_order_event(OrderPlaced(order_id=7, total=1))
    # Run here (eagerly): the handler fails, each retry runs at once, the last dead-letters.
    consumer.task.apply(args=(json.loads(envelope.to_json()),))
    consumer.task.apply(args=({"id": "x-1", "type": "cu.nobody.knows.v1", "source": "/t"},))
    spans = telemetry.finished(name_prefix="process ")
    attempts = [s for s in spans if (s.attributes or {}).get("cloudevents.event_id") == envelope.id]
    assert len(attempts) == consumer.max_retries + 1
    assert {s.status.status_code for s in attempts} == {StatusCode.ERROR}
    assert sorted(e.name for s in attempts for e in s.events) == ["dead_lettered"] + ["retry"] * (
        consumer.max_retries
    )
    (last,) = [s for s in attempts if s.events[0].name == "dead_lettered"]
    assert last.attributes is not None
    assert last.attributes["error.type"] == DeadLetter.Reason.HANDLER_FAILED
    assert last.attributes["commons.event.attempt"] == consumer.max_retries + 1
    (unknown,) = [s for s in spans if s.name == "process cu.nobody.knows.v1"]
    assert unknown.status.status_code == StatusCode.ERROR
    assert [e.name for e in unknown.events] == ["dead_lettered"]
    assert unknown.attributes is not None
    assert unknown.attributes["error.type"] == DeadLetter.Reason.UNKNOWN_TYPE
    dead = telemetry.counter("commons.events.dead_lettered")
    # An unregistered type is counted as "unknown": the label set stays the registered types.
    key = frozenset(
        {
            ("cloudevents.event_type", "unknown"),
            ("messaging.consumer.group.name", "cu.billing.events"),
            ("commons.dead_letter.reason", DeadLetter.Reason.UNKNOWN_TYPE),
        }
    )
    assert dead[key] >= 1


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_a_rolled_back_publish_is_not_counted(telemetry: Telemetry) -> None:
    key = frozenset({("cloudevents.event_type", PLACED), ("database", "orders")})
    before = telemetry.counter("commons.events.published").get(key, 0)

    class _Rollback(Exception):
        pass

    def publish_then_fail() -> None:
        with atomic_for(Order):
            publish(new_order_event(OrderPlaced(order_id=1, total=1)))
            raise _Rollback

    with pytest.raises(_Rollback):
        publish_then_fail()
    assert telemetry.counter("commons.events.published").get(key, 0) == before
    with atomic_for(Order):
        publish(new_order_event(OrderPlaced(order_id=2, total=1)))
    assert telemetry.counter("commons.events.published")[key] == before + 1
    (create, _) = telemetry.finished(name_prefix="create ")  # both writes had their span
    assert create.attributes is not None
    assert create.attributes["db.namespace"] == "orders"


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_the_backlog_gauges_count_per_database(telemetry: Telemetry) -> None:
    with transaction.atomic(using="orders"):
        publish(new_order_event(OrderPlaced(order_id=3, total=1)), using="orders")
    data = telemetry.metrics.get_metrics_data()
    assert data is not None
    gauges = {
        (metric.name, point.attributes["database"]): point.value  # type: ignore[index,union-attr]
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name.startswith(("commons.outbox.", "commons.dead_letters"))
        for point in metric.data.data_points
    }
    assert gauges["commons.outbox.pending_events", "orders"] == 1
    assert gauges["commons.outbox.pending_events", "billing"] == 0
    assert gauges["commons.outbox.parked_events", "orders"] == 0
    assert gauges["commons.dead_letters", "orders"] == 0
    assert 0 <= gauges["commons.outbox.oldest_pending_age", "orders"] < 60
    assert "orders_replica" not in {alias for _, alias in gauges}


_WITHOUT_SDK = """
import json
import django
django.setup()
from django.test import Client
from opentelemetry import trace
from common_utils import request_context
from common_utils.django import atomic_for, publish
from common_utils.django.events import OutboxRelay
from common_utils.django.models import OutboxMessage
from cu_testproject.celery_app import app
from cu_testproject.cu_orders.models import Order
from cu_testproject.events import OrderPlaced, new_order_event

assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)  # no SDK here
with request_context(traceparent={caller!r}), atomic_for(Order):
    event = new_order_event(OrderPlaced(order_id=Order.objects.create(total=1).pk, total=1))
    publish(event)
row = OutboxMessage.objects.using("orders").get(event_id=event.id)
relay = OutboxRelay(app, aliases=["orders"])
try:
    sent = relay.relay_pending()
finally:
    relay.close()
scrape = Client().get("/healthz/metrics/").content.decode()
print(json.dumps({{"traceparent": json.loads(row.payload).get("traceparent"), "sent": sent,
                  "scrape": scrape}}))
"""


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_without_an_sdk_nothing_fails_and_the_envelope_keeps_the_callers_trace(
    project_env: Any,
) -> None:
    from conftest import _filesystem_broker, run_python

    caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    env = project_env(_filesystem_broker("no-sdk"))
    out = json.loads(run_python(env, "-c", _WITHOUT_SDK.format(caller=caller)))
    assert out["traceparent"].startswith("00-4bf92f3577b34da6a3ce929d0e0e4736-")
    assert out["sent"] == 1
    assert 'commons_outbox_pending_events{database="orders"} 0.0' in out["scrape"]


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_the_scrape_serves_a_services_own_prometheus_reader_whole() -> None:
    """With the service's MeterProvider reading into a registry, the endpoint serves all of it."""
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from opentelemetry.sdk.metrics import MeterProvider
    from prometheus_client import CollectorRegistry

    from common_utils.django._metrics import exposition
    from common_utils.django.events._backlog import observe_backlog

    with transaction.atomic(using="orders"):
        publish(new_order_event(OrderPlaced(order_id=4, total=1)), using="orders")
    registry = CollectorRegistry(auto_describe=False)
    provider = MeterProvider(metric_readers=[PrometheusMetricReader(registry=registry)])
    provider.get_meter("service").create_counter("orders.placed", unit="{order}").add(3)
    # The backlog is not in that registry yet: the endpoint serves it on its own.
    alone = exposition(registry).decode()
    assert "orders_placed" not in alone
    assert 'commons_outbox_pending_events{database="orders"} 1.0' in alone
    observe_backlog(provider.get_meter("common_utils"))
    try:
        text = exposition(registry).decode()
    finally:
        provider.shutdown()
    assert "orders_placed_total" in text
    assert "target_info" in text  # the service's reader, as the service configured it
    (pending,) = [
        line
        for line in text.splitlines()
        if line.startswith("commons_outbox_pending_events{") and 'database="orders"' in line
    ]
    assert pending.endswith(" 1.0")
    assert 'otel_scope_name="common_utils"' in pending
