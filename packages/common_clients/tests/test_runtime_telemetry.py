"""Spans and metrics of client calls, read back from the OpenTelemetry SDK (``telemetry``).

Against a real server on 127.0.0.1: one CLIENT span per attempt under the caller's span, the one
``traceparent`` each attempt sends (the server's span hangs under it), the metrics by outcome;
with opentelemetry-instrumentation-httpx on, the call's INTERNAL span over one HTTP span per
attempt (httpx's), never two; and, in a fresh interpreter with no SDK, calls that send the request
context as before and record nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import propagate, trace
from opentelemetry.propagators.textmap import default_setter
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from pydantic import BaseModel

from common_clients import AsyncClient, RetryPolicy, SyncClient
from common_clients.errors import APIConnectionError, NotFoundError, ResponseValidationError
from common_utils import request_context

FAST = RetryPolicy(max_retries=2, initial_backoff=0.01, max_backoff=0.02)


class Item(BaseModel):
    id: int


TEMPLATES = {"items_retrieve": "/items/{id}/"}


class ItemsClient(SyncClient):
    url_templates = TEMPLATES

    def retrieve(self, **options: Any) -> Item:
        return self.request(  # type: ignore[no-any-return]
            "GET", "/items/1/", operation="items_retrieve", cast_to=Item, **options
        )


class AsyncItemsClient(AsyncClient):
    url_templates = TEMPLATES

    async def retrieve(self, **options: Any) -> Item:
        return await self.request(  # type: ignore[no-any-return]
            "GET", "/items/1/", operation="items_retrieve", cast_to=Item, **options
        )


def _clients(service: str) -> tuple[type[ItemsClient], type[AsyncItemsClient]]:
    """A sync and an async client of ``service`` (unique per test, so metrics are its own)."""
    named = {"service_name": service}
    return type("ItemsClient", (ItemsClient,), named), type(
        "AsyncItemsClient", (AsyncItemsClient,), named
    )


@pytest.fixture
def service() -> str:
    return f"svc{uuid.uuid4().hex[:8]}"


def _traceparent(span: Any) -> str:
    context = span.get_span_context()
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def _by_kind(spans: Any, kind: SpanKind) -> list[Any]:
    return [span for span in spans if span.kind is kind]


def test_a_call_is_one_client_span_named_after_its_url_template_whose_traceparent_is_sent(
    loopback, telemetry, service
):
    loopback.route("GET", "/items/1/", loopback.reply(200, {"id": 1}))
    sync_client, _ = _clients(service)
    with sync_client(base_url=loopback.url, retry_policy=FAST) as client:
        assert client.retrieve() == Item(id=1)

    (attempt,) = telemetry.spans.get_finished_spans()
    assert attempt.kind is SpanKind.CLIENT
    assert attempt.name == "GET /items/{id}/"
    assert attempt.parent is None  # no span was current: the call starts the trace
    assert attempt.status.status_code is StatusCode.UNSET
    (received,) = loopback.hits("GET", "/items/1/")
    assert dict(attempt.attributes) == {
        "commons.client.service": service,
        "commons.client.operation": "items_retrieve",
        "commons.request_id": received.headers["x-request-id"],
        "url.template": "/items/{id}/",
        "http.request.method": "GET",
        "url.full": f"{loopback.url}/items/1/",
        "server.address": "127.0.0.1",
        "server.port": int(loopback.url.rsplit(":", 1)[1]),
        "http.response.status_code": 200,
        "commons.client.attempt": 1,
    }
    # The called service sees the attempt as its parent, from the one traceparent sent.
    assert [name for name, _ in received.header_list].count("traceparent") == 1
    assert received.headers["traceparent"] == _traceparent(attempt)


def test_an_operation_without_a_known_template_is_named_after_its_method(
    loopback, telemetry, service
):
    loopback.route("GET", "/items/1/", loopback.reply(200, {"id": 1}))
    sync_client, _ = _clients(service)
    with sync_client(base_url=loopback.url) as client:
        client.request("GET", "/items/1/", operation="items_lookup", cast_to=dict)
        client.request("GET", "/items/1/", cast_to=dict)

    named, bare = telemetry.spans.get_finished_spans()
    assert (named.name, bare.name) == ("GET", "GET")
    assert "url.template" not in named.attributes
    assert named.attributes["commons.client.operation"] == "items_lookup"
    assert bare.attributes["commons.client.operation"] == "GET"


def test_a_retried_call_is_sibling_client_spans_under_the_callers_span(
    loopback, telemetry, service
):
    busy = loopback.reply(503, {"detail": "busy"}, headers={"retry-after-ms": "20"})
    loopback.route("GET", "/items/1/", [busy, busy, loopback.reply(200, {"id": 1})])
    sync_client, _ = _clients(service)
    with (
        trace.get_tracer("tests").start_as_current_span("handling a request") as parent,
        sync_client(base_url=loopback.url, retry_policy=FAST) as client,
    ):
        client.retrieve()

    ours = [s for s in telemetry.spans.get_finished_spans() if s.name != "handling a request"]
    attempts = sorted(ours, key=lambda s: s.start_time)
    assert len(attempts) == 3
    assert {s.kind for s in attempts} == {SpanKind.CLIENT}
    assert {s.name for s in attempts} == {"GET /items/{id}/"}
    assert [s.parent.span_id for s in attempts] == [parent.get_span_context().span_id] * 3
    assert {s.context.trace_id for s in attempts} == {parent.get_span_context().trace_id}
    first, second, third = attempts
    assert [s.attributes["commons.client.attempt"] for s in attempts] == [1, 2, 3]
    assert "http.request.resend_count" not in first.attributes
    assert [s.attributes["http.request.resend_count"] for s in (second, third)] == [1, 2]
    assert second.attributes["commons.client.retry_wait"] == pytest.approx(0.02)
    assert [s.attributes["http.response.status_code"] for s in attempts] == [503, 503, 200]
    assert first.attributes["error.type"] == "503"
    assert [s.status.status_code for s in attempts] == [
        StatusCode.ERROR,
        StatusCode.ERROR,
        StatusCode.UNSET,
    ]
    assert "error.type" not in third.attributes
    hits = loopback.hits("GET", "/items/1/")
    assert [r.headers["traceparent"] for r in hits] == [_traceparent(s) for s in attempts]
    assert [[n for n, _ in r.header_list].count("traceparent") for r in hits] == [1, 1, 1]
    # One call, one request id, on every attempt.
    assert len({r.headers["x-request-id"] for r in hits}) == 1

    labels = {"commons.client.service": service}
    (retries,) = telemetry.points("commons.client.retries", **labels)
    assert retries.value == 2
    assert dict(retries.attributes)["error.type"] == "503"
    (duration,) = telemetry.points("commons.client.call.duration", **labels)
    assert (dict(duration.attributes)["commons.client.outcome"], duration.count) == ("ok", 1)
    assert not telemetry.points("commons.client.calls", **labels)  # the histogram counts calls


def test_the_servers_span_hangs_under_the_attempt_that_reached_it(loopback, telemetry, service):
    """The loopback server continues the trace it receives, as an instrumented service does."""
    server_tracer = trace.get_tracer("server")

    def serve(received: Any) -> Any:
        with server_tracer.start_as_current_span(
            "GET /items/{id}/ (server)",
            context=propagate.extract(received.headers),
            kind=SpanKind.SERVER,
        ):
            return loopback.reply(200, {"id": 1})

    loopback.route("GET", "/items/1/", serve)
    sync_client, _ = _clients(service)
    with sync_client(base_url=loopback.url) as client:
        client.retrieve()

    spans = telemetry.spans.get_finished_spans()
    (server,) = _by_kind(spans, SpanKind.SERVER)
    (attempt,) = _by_kind(spans, SpanKind.CLIENT)
    assert server.parent.span_id == attempt.context.span_id
    assert server.context.trace_id == attempt.context.trace_id


def test_inside_a_request_context_its_id_goes_out_and_its_trace_goes_on(
    loopback, telemetry, service
):
    loopback.route("GET", "/items/1/", loopback.reply(200, {"id": 1}))
    incoming = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    sync_client, _ = _clients(service)
    with (
        request_context(request_id="req-42", traceparent=incoming),
        sync_client(base_url=loopback.url) as client,
    ):
        client.retrieve()

    (attempt,) = telemetry.spans.get_finished_spans()
    assert attempt.context.trace_id == int("0af7651916cd43dd8448eb211c80319c", 16)
    assert attempt.parent.span_id == int("b7ad6b7169203331", 16)
    assert attempt.attributes["commons.request_id"] == "req-42"
    (received,) = loopback.hits("GET", "/items/1/")
    assert received.headers["x-request-id"] == "req-42"
    assert [name for name, _ in received.header_list].count("traceparent") == 1
    assert received.headers["traceparent"] == _traceparent(attempt)


class _CountingPropagator(TraceContextTextMapPropagator):
    """W3C trace context, counting the headers it writes."""

    def __init__(self) -> None:
        self.injected = 0

    def inject(self, carrier: Any, context: Any = None, setter: Any = default_setter) -> None:
        self.injected += 1
        super().inject(carrier, context, setter)


@pytest.fixture
def counting_propagator() -> Iterator[_CountingPropagator]:
    """The process's propagator, counting its injections; the one before it restored after."""
    before = propagate.get_global_textmap()
    propagator = _CountingPropagator()
    propagate.set_global_textmap(propagator)
    try:
        yield propagator
    finally:
        propagate.set_global_textmap(before)


def test_the_trace_context_is_written_once_per_attempt(
    loopback, telemetry, service, counting_propagator
):
    busy = loopback.reply(503, {"detail": "busy"}, headers={"retry-after-ms": "10"})
    loopback.route("GET", "/items/1/", [busy, loopback.reply(200, {"id": 1})])
    sync_client, _ = _clients(service)
    with (
        request_context(request_id="req-7"),
        sync_client(base_url=loopback.url, retry_policy=FAST) as client,
    ):
        client.retrieve()

    assert counting_propagator.injected == 2
    hits = loopback.hits("GET", "/items/1/")
    assert [r.headers["x-request-id"] for r in hits] == ["req-7", "req-7"]
    assert [r.headers["traceparent"] for r in hits] == [
        _traceparent(s)
        for s in sorted(telemetry.spans.get_finished_spans(), key=lambda s: s.start_time)
    ]


def test_a_call_in_an_unsampled_trace_records_nothing_and_sends_the_trace_once(
    loopback, telemetry, service
):
    loopback.route("GET", "/items/1/", loopback.reply(200, {"id": 1}))
    incoming = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"
    sync_client, _ = _clients(service)
    with (
        request_context(traceparent=incoming),
        sync_client(base_url=loopback.url) as client,
    ):
        client.retrieve()

    assert not telemetry.spans.get_finished_spans()
    (received,) = loopback.hits("GET", "/items/1/")
    (sent,) = [value for name, value in received.header_list if name == "traceparent"]
    version, trace_id, _, flags = sent.split("-")
    assert (version, trace_id, flags) == ("00", "0af7651916cd43dd8448eb211c80319c", "00")


def test_a_failed_call_marks_its_last_attempt_and_counts_by_outcome_and_error_class(
    loopback, telemetry, service
):
    loopback.route("GET", "/items/1/", loopback.reply(404, {"detail": "no such item"}))
    sync_client, _ = _clients(service)
    with (
        sync_client(base_url=loopback.url, retry_policy=FAST) as client,
        pytest.raises(NotFoundError),
    ):
        client.retrieve()

    (attempt,) = telemetry.spans.get_finished_spans()
    assert attempt.status.status_code is StatusCode.ERROR
    assert attempt.attributes["error.type"] == "404"
    assert attempt.attributes["http.response.status_code"] == 404
    labels = {"commons.client.service": service, "commons.client.operation": "items_retrieve"}
    (errors,) = telemetry.points("commons.client.errors", **labels)
    assert (dict(errors.attributes)["error.type"], errors.value) == ("NotFoundError", 1)
    (duration,) = telemetry.points("commons.client.call.duration", **labels)
    assert (dict(duration.attributes)["commons.client.outcome"], duration.count) == (
        "client_error",
        1,
    )
    assert not telemetry.points("commons.client.retries", **labels)  # 404 is not retried


def test_an_answer_that_does_not_match_its_model_marks_the_attempt_that_got_it(
    loopback, telemetry, service
):
    loopback.route("GET", "/items/1/", loopback.reply(200, {"id": "not a number"}))
    sync_client, _ = _clients(service)
    with (
        sync_client(base_url=loopback.url) as client,
        pytest.raises(ResponseValidationError),
    ):
        client.retrieve()

    (attempt,) = telemetry.spans.get_finished_spans()
    assert attempt.attributes["http.response.status_code"] == 200
    assert attempt.attributes["error.type"] == "ResponseValidationError"
    assert attempt.status.status_code is StatusCode.ERROR
    labels = {"commons.client.service": service, "commons.client.outcome": "invalid_response"}
    (duration,) = telemetry.points("commons.client.call.duration", **labels)
    assert duration.count == 1


def test_a_refused_connection_is_an_error_on_each_attempt(refused_url, telemetry, service):
    sync_client, _ = _clients(service)
    with (
        sync_client(base_url=refused_url, retry_policy=FAST) as client,
        pytest.raises(APIConnectionError),
    ):
        client.retrieve()

    attempts = telemetry.spans.get_finished_spans()
    assert [a.kind for a in attempts] == [SpanKind.CLIENT] * 3
    assert [a.attributes["error.type"] for a in attempts] == ["ConnectError"] * 3
    assert {a.status.status_code for a in attempts} == {StatusCode.ERROR}
    labels = {"commons.client.service": service}
    (duration,) = telemetry.points("commons.client.call.duration", **labels)
    assert dict(duration.attributes)["commons.client.outcome"] == "connection_error"
    (retries,) = telemetry.points("commons.client.retries", **labels)
    assert retries.value == 2


def test_query_values_never_reach_a_span(loopback, telemetry, service):
    loopback.route("GET", "/items/1/", loopback.reply(200, {"id": 1}))
    sync_client, _ = _clients(service)
    with sync_client(base_url=loopback.url) as client:
        client.retrieve(extra_query={"email": "alice@example.com"})
    (attempt,) = _by_kind(telemetry.spans.get_finished_spans(), SpanKind.CLIENT)
    assert attempt.attributes["url.full"] == f"{loopback.url}/items/1/?email=***"


def test_async_calls_make_the_same_spans_and_send_each_attempts_traceparent(
    loopback, telemetry, service
):
    busy = loopback.reply(503, {"detail": "busy"}, headers={"retry-after-ms": "10"})
    loopback.route("GET", "/items/1/", [busy, loopback.reply(200, {"id": 1})])
    _, async_client = _clients(service)

    async def main() -> tuple[Item, Any]:
        with trace.get_tracer("tests").start_as_current_span("handling a request") as parent:
            async with async_client(base_url=loopback.url, retry_policy=FAST) as client:
                return await client.retrieve(), parent

    item, parent = asyncio.run(main())
    assert item == Item(id=1)
    spans = telemetry.spans.get_finished_spans()
    attempts = sorted(_by_kind(spans, SpanKind.CLIENT), key=lambda s: s.start_time)
    assert [s.name for s in _by_kind(spans, SpanKind.INTERNAL)] == ["handling a request"]
    assert [a.name for a in attempts] == ["GET /items/{id}/"] * 2
    assert [a.parent.span_id for a in attempts] == [parent.get_span_context().span_id] * 2
    assert [a.attributes["commons.client.attempt"] for a in attempts] == [1, 2]
    hits = loopback.hits("GET", "/items/1/")
    assert [r.headers["traceparent"] for r in hits] == [_traceparent(a) for a in attempts]
    assert [[n for n, _ in r.header_list].count("traceparent") for r in hits] == [1, 1]
    (retries,) = telemetry.points("commons.client.retries", **{"commons.client.service": service})
    assert retries.value == 1


def test_a_client_with_telemetry_off_records_nothing(loopback, telemetry, service):
    loopback.route("GET", "/items/1/", loopback.reply(200, {"id": 1}))
    sync_client, _ = _clients(service)
    with sync_client(base_url=loopback.url) as client:
        client.telemetry = False
        client.retrieve()
    assert not telemetry.spans.get_finished_spans()
    labels = {"commons.client.service": service}
    assert not telemetry.points("commons.client.call.duration", **labels)
    # The current trace context is still sent: here, none (no span was current).
    (received,) = loopback.hits("GET", "/items/1/")
    assert "traceparent" not in received.headers
    assert received.headers["x-request-id"]


@pytest.fixture
def httpx_instrumented(telemetry):
    """opentelemetry-instrumentation-httpx on (every httpx transport), off again after."""
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    instrumentor = HTTPXClientInstrumentor()
    instrumentor.instrument()
    try:
        yield
    finally:
        instrumentor.uninstrument()


@pytest.mark.usefixtures("httpx_instrumented")
def test_with_the_httpx_instrumentation_each_attempt_has_one_http_span_not_two(
    loopback, telemetry, service
):
    busy = loopback.reply(503, {"detail": "busy"}, headers={"retry-after-ms": "10"})
    loopback.route("GET", "/items/1/", [busy, loopback.reply(200, {"id": 1})])
    sync_client, async_client = _clients(service)
    with sync_client(base_url=loopback.url, retry_policy=FAST) as client:
        client.retrieve()

    spans = telemetry.spans.get_finished_spans()
    (call,) = _by_kind(spans, SpanKind.INTERNAL)
    assert call.name == f"{service}.items_retrieve"
    assert call.attributes["commons.client.operation"] == "items_retrieve"
    assert call.attributes["commons.client.outcome"] == "ok"
    http_spans = sorted(_by_kind(spans, SpanKind.CLIENT), key=lambda s: s.start_time)
    assert len(http_spans) == 2  # httpx's, one per attempt; none of Commons' own
    assert {span.instrumentation_scope.name for span in http_spans} == {
        "opentelemetry.instrumentation.httpx"
    }
    assert [span.parent.span_id for span in http_spans] == [call.context.span_id] * 2
    events = [event for event in call.events if event.name == "commons.client.attempt"]
    assert [dict(event.attributes) for event in events] == [
        {"commons.client.attempt": 1, "http.response.status_code": 503, "error.type": "503"},
        {
            "commons.client.attempt": 2,
            "http.request.resend_count": 1,
            "commons.client.retry_wait": pytest.approx(0.01),
            "http.response.status_code": 200,
        },
    ]
    hits = loopback.hits("GET", "/items/1/")
    assert [r.headers["traceparent"] for r in hits] == [_traceparent(s) for s in http_spans]
    assert [[n for n, _ in r.header_list].count("traceparent") for r in hits] == [1, 1]

    # The async client too.
    telemetry.spans.clear()

    async def main() -> None:
        async with async_client(base_url=loopback.url, retry_policy=FAST) as client:
            await client.retrieve()

    asyncio.run(main())
    spans = telemetry.spans.get_finished_spans()
    assert len(_by_kind(spans, SpanKind.INTERNAL)) == 1
    (http_span,) = _by_kind(spans, SpanKind.CLIENT)
    assert http_span.instrumentation_scope.name == "opentelemetry.instrumentation.httpx"


NO_SDK = textwrap.dedent(
    """
    import json, sys
    import httpx
    from opentelemetry import trace
    from common_clients import RetryPolicy, SyncClient
    from common_utils import request_context

    seen = []

    def answer(request):
        seen.append(dict(request.headers))
        return httpx.Response(503 if len(seen) == 1 else 200, json={"id": 1})

    class Items(SyncClient):
        service_name = "items"

    client = Items(
        base_url="http://items.internal",
        transport=httpx.MockTransport(answer),
        retry_policy=RetryPolicy(initial_backoff=0.0),
    )
    with request_context(traceparent=sys.argv[1]):
        body = client.request("GET", "/items/1/", operation="items_retrieve", cast_to=dict)
    print(json.dumps({
        "provider": type(trace.get_tracer_provider()).__name__,
        "body": body,
        "traceparents": [h.get("traceparent") for h in seen],
        "request_ids": [h.get("x-request-id") for h in seen],
    }))
    """
)


def test_without_an_sdk_calls_work_and_send_the_request_context_as_before():
    """A fresh interpreter where no tracer or meter provider was ever set."""
    incoming = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, "-c", NO_SDK, incoming],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=60,
    )
    result = json.loads(done.stdout)
    assert result["provider"] == "ProxyTracerProvider"
    assert result["body"] == {"id": 1}
    # Both attempts carry the context the request came with: its trace, no span of the call's.
    # Nothing records, so it goes on unchanged, once a request (a second one would be joined in).
    assert result["traceparents"] == [incoming, incoming]
    first_id, second_id = result["request_ids"]
    assert first_id
    assert first_id == second_id
