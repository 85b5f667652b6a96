"""Traces through OpenTelemetry: the request's server span, logs that name it, Celery tasks that
continue it, and no second span when OpenTelemetry's own Django or Celery instrumentation is on.

These run with the SDK's tracer provider and in-memory exporter (conftest ``spans``).
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from opentelemetry.trace import SpanKind, StatusCode

from common_utils import JsonLogFormatter, RequestContextLogFilter
from common_utils.django import RequestContextMiddleware

ALL = ["default", "orders", "billing", "orders_replica"]
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
CALLER = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"


def _hex(value: int, digits: int) -> str:
    return f"{value:0{digits}x}"


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """Every record of the test project's loggers, as the services' JSON lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestContextLogFilter())
    handler.setFormatter(JsonLogFormatter())
    loggers = [logging.getLogger(name) for name in ("cu_testproject", "test_tracing")]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _server_spans(spans: Any) -> list[Any]:
    return [span for span in spans.get_finished_spans() if span.kind is SpanKind.SERVER]


def test_a_request_is_one_server_span_named_by_its_route_under_the_callers_span(
    spans: Any,
) -> None:
    response = Client().get(
        "/healthz/live/?verbose=1",
        headers={"X-Request-ID": "edge-1", "traceparent": CALLER, "User-Agent": "probe/1"},
    )
    assert response.status_code == 200
    (span,) = _server_spans(spans)
    assert span.name == "GET /healthz/live/"
    assert _hex(span.context.trace_id, 32) == CALLER_TRACE
    assert span.parent is not None
    assert _hex(span.parent.span_id, 16) == CALLER_SPAN
    assert span.instrumentation_scope.name == "common_utils"
    attributes = dict(span.attributes)
    assert attributes["http.request.method"] == "GET"
    assert attributes["http.route"] == "/healthz/live/"
    assert attributes["url.path"] == "/healthz/live/"
    assert attributes["url.query"] == "verbose=1"
    assert attributes["url.scheme"] == "http"
    assert attributes["user_agent.original"] == "probe/1"
    assert attributes["http.response.status_code"] == 200
    assert attributes["commons.request_id"] == "edge-1"
    assert "error.type" not in attributes
    assert span.status.status_code is StatusCode.UNSET


def test_a_request_without_a_trace_or_with_a_bad_one_starts_a_new_trace(
    spans: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="common_utils.request"):
        Client().get("/healthz/live/")
        Client().get("/healthz/live/", headers={"traceparent": "00-zz-zz-01"})
    first, second = _server_spans(spans)
    assert first.parent is None
    assert second.parent is None
    assert first.context.trace_id != second.context.trace_id
    assert "ignoring an invalid traceparent from the request headers" in caplog.text


@pytest.mark.parametrize(("status", "error"), [(503, "503"), (404, None)])
def test_a_server_error_marks_the_span(spans: Any, status: int, error: str | None) -> None:
    middleware = RequestContextMiddleware(lambda request: HttpResponse(status=status))
    middleware(RequestFactory().post("/refused/"))
    (span,) = _server_spans(spans)
    assert span.name == "POST"  # no route matched
    assert span.attributes["http.response.status_code"] == status
    assert span.attributes.get("error.type") == error
    assert span.status.status_code is (StatusCode.ERROR if error else StatusCode.UNSET)


def test_an_exception_through_the_middleware_is_recorded_and_the_span_ended(spans: Any) -> None:
    def view(request: HttpRequest) -> HttpResponse:
        raise LookupError("no such order")

    with pytest.raises(LookupError):
        RequestContextMiddleware(view)(RequestFactory().get("/orders/7/"))
    (span,) = _server_spans(spans)
    assert span.attributes["error.type"] == "LookupError"
    assert span.status.status_code is StatusCode.ERROR
    assert [event.name for event in span.events] == ["exception"]


def test_the_async_path_opens_the_same_span(spans: Any) -> None:
    import asyncio

    from django.test import AsyncClient

    async def call() -> Any:
        return await AsyncClient().get("/healthz/live/", headers={"traceparent": CALLER})

    assert asyncio.run(call()).status_code == 200
    (span,) = _server_spans(spans)
    assert span.name == "GET /healthz/live/"
    assert _hex(span.context.trace_id, 32) == CALLER_TRACE


def test_log_lines_name_the_span_they_were_written_in(spans: Any, json_lines: io.StringIO) -> None:
    def view(request: HttpRequest) -> HttpResponse:
        logging.getLogger("test_tracing").info("in the view")
        return HttpResponse()

    RequestContextMiddleware(view)(
        RequestFactory().get("/", headers={"X-Request-ID": "log-1", "traceparent": CALLER})
    )
    logging.getLogger("test_tracing").info("after the request")
    (span,) = _server_spans(spans)
    inside, outside = _lines(json_lines)
    assert inside["request_id"] == "log-1"
    assert inside["trace_id"] == CALLER_TRACE
    assert inside["span_id"] == _hex(span.context.span_id, 16)
    assert (outside["request_id"], outside["trace_id"], outside["span_id"]) == (None, None, None)


@pytest.fixture
def django_instrumentation() -> Iterator[None]:
    """OpenTelemetry's Django instrumentation, on for one test (its middleware goes first)."""
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    DjangoInstrumentor().instrument()
    try:
        yield
    finally:
        DjangoInstrumentor().uninstrument()


def test_with_the_django_instrumentation_on_its_span_gets_the_request_id_and_no_second_span(
    spans: Any, django_instrumentation: None, json_lines: io.StringIO
) -> None:
    response = Client().get(
        "/healthz/live/", headers={"X-Request-ID": "instr-1", "traceparent": CALLER}
    )
    assert response["X-Request-ID"] == "instr-1"
    (span,) = _server_spans(spans)  # OpenTelemetry's, not a second one of ours
    assert span.instrumentation_scope.name == "opentelemetry.instrumentation.django"
    assert span.attributes["commons.request_id"] == "instr-1"
    assert _hex(span.context.trace_id, 32) == CALLER_TRACE
    assert [s.instrumentation_scope.name for s in spans.get_finished_spans()].count(
        "common_utils"
    ) == 0


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_a_task_continues_the_request_trace_and_the_downstream_call_gets_it(
    spans: Any, consumer_worker: Any, echo_server_url: str, json_lines: io.StringIO, wait: Any
) -> None:
    from conftest import _filesystem_broker

    with consumer_worker(_filesystem_broker("trace-flow")):
        response = Client().get(
            "/orders/",
            {"downstream": echo_server_url},
            headers={"X-Request-ID": "flow-1", "traceparent": CALLER},
        )
        wait(
            lambda: any(line["message"] == "order placed" for line in _lines(json_lines)),
            what="the task's log line",
        )
    (server,) = [s for s in _server_spans(spans) if s.name == "GET /orders/"]
    server_span = _hex(server.context.span_id, 16)
    downstream = response.json()["downstream_saw"]
    assert downstream["traceparent"].split("-")[1:3] == [CALLER_TRACE, server_span]
    (task_line,) = [line for line in _lines(json_lines) if line["message"] == "order placed"]
    # No span of its own: the task's work is under the request's span, in the same trace.
    assert (task_line["request_id"], task_line["trace_id"], task_line["span_id"]) == (
        "flow-1",
        CALLER_TRACE,
        server_span,
    )


@pytest.fixture
def celery_instrumentation() -> Iterator[None]:
    """OpenTelemetry's Celery instrumentation, on for one test."""
    from opentelemetry.instrumentation.celery import CeleryInstrumentor

    # The instrumentation's constructor carries no annotations.
    CeleryInstrumentor().instrument()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        CeleryInstrumentor().uninstrument()  # type: ignore[no-untyped-call]


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_with_the_celery_instrumentation_on_its_spans_carry_the_task_and_no_second_parent(
    spans: Any,
    consumer_worker: Any,
    celery_instrumentation: None,
    json_lines: io.StringIO,
    wait: Any,
) -> None:
    from conftest import _filesystem_broker

    with consumer_worker(_filesystem_broker("trace-instr")):
        Client().get("/orders/", headers={"X-Request-ID": "flow-2", "traceparent": CALLER})
        wait(
            lambda: any(line["message"] == "order placed" for line in _lines(json_lines)),
            what="the task's log line",
        )
        wait(
            lambda: any(s.name.startswith("run/") for s in spans.get_finished_spans()),
            what="the instrumentation's task span",
        )
    finished = spans.get_finished_spans()
    (server,) = [s for s in _server_spans(spans) if s.name == "GET /orders/"]
    (publish,) = [s for s in finished if s.name == "apply_async/cu_testproject.log_request_id"]
    (run,) = [s for s in finished if s.name == "run/cu_testproject.log_request_id"]
    # One chain: request -> the instrumentation's producer span -> its consumer span.
    assert publish.parent is not None
    assert publish.parent.span_id == server.context.span_id
    assert run.parent is not None
    assert run.parent.span_id == publish.context.span_id
    (task_line,) = [line for line in _lines(json_lines) if line["message"] == "order placed"]
    assert task_line["request_id"] == "flow-2"
    assert task_line["span_id"] == _hex(run.context.span_id, 16)
    # Ours: the request's span and the outbox's create span of an event the view published;
    # never a task span beside the instrumentation's.
    ours = [s for s in finished if s.instrumentation_scope.name == "common_utils"]
    assert {s.kind for s in ours} <= {SpanKind.SERVER, SpanKind.PRODUCER}, [
        (s.name, s.kind) for s in ours
    ]
    assert all(s.kind is SpanKind.SERVER or s.name.startswith("create ") for s in ours)


def test_task_headers_carry_the_current_span_and_keep_a_trace_set_on_purpose() -> None:
    from celery.signals import before_task_publish
    from opentelemetry import trace

    from common_utils import request_context
    from common_utils.django.events import connect_request_context_signals

    connect_request_context_signals()  # idempotent: the app config connected them already
    with (
        trace.get_tracer("test").start_as_current_span("publishing") as span,
        request_context(request_id="task-1"),
    ):
        plain: dict[str, Any] = {}
        before_task_publish.send(sender="cu_testproject.log_request_id", headers=plain, body=())
        preset: dict[str, Any] = {"traceparent": CALLER}
        before_task_publish.send(sender="cu_testproject.log_request_id", headers=preset, body=())
    ids = span.get_span_context()
    assert plain == {
        "x_request_id": "task-1",
        "traceparent": f"00-{ids.trace_id:032x}-{ids.span_id:016x}-{ids.trace_flags:02x}",
    }
    # An event's own trace (the relay sets it from the envelope) is not replaced by the relay's.
    assert preset == {"x_request_id": "task-1", "traceparent": CALLER}
