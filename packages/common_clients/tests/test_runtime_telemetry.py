"""Spans and metrics of client calls, read back from the OpenTelemetry SDK (``telemetry``).

Against a real server on 127.0.0.1: the span of the call and of each attempt, the ``traceparent``
each attempt sends, the metrics by outcome; with opentelemetry-instrumentation-httpx on, one HTTP
span per attempt (httpx's), never two; and, in a fresh interpreter with no SDK, calls that send
the request context as before and record nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import uuid
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode
from pydantic import BaseModel

from common_clients import AsyncClient, RetryPolicy, SyncClient
from common_clients.errors import APIConnectionError, NotFoundError

FAST = RetryPolicy(max_retries=2, initial_backoff=0.01, max_backoff=0.02)


class Item(BaseModel):
    id: int


class ItemsClient(SyncClient):
    def retrieve(self, **options: Any) -> Item:
        return self.request(  # type: ignore[no-any-return]
            "GET", "/items/1/", operation="items_retrieve", cast_to=Item, **options
        )


class AsyncItemsClient(AsyncClient):
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


def test_a_call_is_an_internal_span_over_one_client_span_whose_traceparent_is_sent(
    loopback, telemetry, service
):
    loopback.route("GET", "/items/1/", loopback.reply(200, {"id": 1}))
    sync_client, _ = _clients(service)
    with sync_client(base_url=loopback.url, retry_policy=FAST) as client:
        assert client.retrieve() == Item(id=1)

    spans = telemetry.spans.get_finished_spans()
    (call,) = _by_kind(spans, SpanKind.INTERNAL)
    (attempt,) = _by_kind(spans, SpanKind.CLIENT)
    assert call.name == f"{service}.items_retrieve"
    assert call.attributes["commons.client.service"] == service
    assert call.attributes["commons.client.operation"] == "items_retrieve"
    assert call.attributes["commons.client.outcome"] == "ok"
    assert call.status.status_code is StatusCode.UNSET
    assert attempt.name == "GET"
    assert attempt.parent.span_id == call.context.span_id
    assert attempt.attributes["http.request.method"] == "GET"
    assert attempt.attributes["http.response.status_code"] == 200
    assert attempt.attributes["url.full"] == f"{loopback.url}/items/1/"
    assert attempt.attributes["server.address"] == "127.0.0.1"
    assert attempt.attributes["commons.client.attempt"] == 1
    assert "http.request.resend_count" not in attempt.attributes
    # The called service sees the attempt as its parent.
    (received,) = loopback.hits("GET", "/items/1/")
    assert received.headers["traceparent"] == _traceparent(attempt)


def test_each_retry_is_its_own_attempt_span_with_its_wait_and_what_it_got(
    loopback, telemetry, service
):
    busy = loopback.reply(503, {"detail": "busy"}, headers={"retry-after-ms": "20"})
    loopback.route("GET", "/items/1/", [busy, loopback.reply(200, {"id": 1})])
    sync_client, _ = _clients(service)
    with sync_client(base_url=loopback.url, retry_policy=FAST) as client:
        client.retrieve()

    spans = telemetry.spans.get_finished_spans()
    (call,) = _by_kind(spans, SpanKind.INTERNAL)
    first, second = sorted(_by_kind(spans, SpanKind.CLIENT), key=lambda s: s.start_time)
    assert first.attributes["http.response.status_code"] == 503
    assert first.attributes["error.type"] == "503"
    assert first.status.status_code is StatusCode.ERROR
    assert second.attributes["commons.client.attempt"] == 2
    assert second.attributes["http.request.resend_count"] == 1
    assert second.attributes["commons.client.retry_wait"] == pytest.approx(0.02)
    assert second.status.status_code is StatusCode.UNSET
    assert call.status.status_code is StatusCode.UNSET
    sent = [r.headers["traceparent"] for r in loopback.hits("GET", "/items/1/")]
    assert sent == [_traceparent(first), _traceparent(second)]

    labels = {"commons.client.service": service}
    (retries,) = telemetry.points("commons.client.retries", **labels)
    assert retries.value == 1
    assert dict(retries.attributes)["error.type"] == "503"
    (calls,) = telemetry.points("commons.client.calls", **labels)
    assert (dict(calls.attributes)["commons.client.outcome"], calls.value) == ("ok", 1)


def test_a_failed_call_marks_its_span_and_counts_by_outcome_and_error_class(
    loopback, telemetry, service
):
    loopback.route("GET", "/items/1/", loopback.reply(404, {"detail": "no such item"}))
    sync_client, _ = _clients(service)
    with (
        sync_client(base_url=loopback.url, retry_policy=FAST) as client,
        pytest.raises(NotFoundError),
    ):
        client.retrieve()

    (call,) = _by_kind(telemetry.spans.get_finished_spans(), SpanKind.INTERNAL)
    assert call.status.status_code is StatusCode.ERROR
    assert call.attributes["error.type"] == "NotFoundError"
    assert call.attributes["http.response.status_code"] == 404
    assert call.attributes["commons.client.outcome"] == "client_error"
    labels = {"commons.client.service": service, "commons.client.operation": "items_retrieve"}
    (calls,) = telemetry.points("commons.client.calls", **labels)
    assert dict(calls.attributes)["commons.client.outcome"] == "client_error"
    (errors,) = telemetry.points("commons.client.errors", **labels)
    assert (dict(errors.attributes)["error.type"], errors.value) == ("NotFoundError", 1)
    (duration,) = telemetry.points("commons.client.call.duration", **labels)
    assert duration.count == 1
    assert not telemetry.points("commons.client.retries", **labels)  # 404 is not retried


def test_a_refused_connection_is_an_error_on_each_attempt_and_on_the_call(
    refused_url, telemetry, service
):
    sync_client, _ = _clients(service)
    with (
        sync_client(base_url=refused_url, retry_policy=FAST) as client,
        pytest.raises(APIConnectionError),
    ):
        client.retrieve()

    spans = telemetry.spans.get_finished_spans()
    attempts = _by_kind(spans, SpanKind.CLIENT)
    assert [a.attributes["error.type"] for a in attempts] == ["ConnectError"] * 3
    (call,) = _by_kind(spans, SpanKind.INTERNAL)
    assert call.attributes["commons.client.outcome"] == "connection_error"
    (retries,) = telemetry.points("commons.client.retries", **{"commons.client.service": service})
    assert retries.value == 2


def test_the_call_span_is_a_child_of_the_current_span(loopback, telemetry, service):
    loopback.route("GET", "/items/1/", loopback.reply(200, {"id": 1}))
    sync_client, _ = _clients(service)
    with (
        trace.get_tracer("tests").start_as_current_span("handling a request") as parent,
        sync_client(base_url=loopback.url) as client,
    ):
        client.retrieve()
    (call,) = [s for s in telemetry.spans.get_finished_spans() if s.name.startswith(service)]
    assert call.parent.span_id == parent.get_span_context().span_id
    assert call.context.trace_id == parent.get_span_context().trace_id


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

    async def main() -> Item:
        async with async_client(base_url=loopback.url, retry_policy=FAST) as client:
            return await client.retrieve()

    assert asyncio.run(main()) == Item(id=1)
    spans = telemetry.spans.get_finished_spans()
    (call,) = _by_kind(spans, SpanKind.INTERNAL)
    attempts = sorted(_by_kind(spans, SpanKind.CLIENT), key=lambda s: s.start_time)
    assert [a.parent.span_id for a in attempts] == [call.context.span_id] * 2
    assert [a.attributes["commons.client.attempt"] for a in attempts] == [1, 2]
    sent = [r.headers["traceparent"] for r in loopback.hits("GET", "/items/1/")]
    assert sent == [_traceparent(a) for a in attempts]
    (retries,) = telemetry.points("commons.client.retries", **{"commons.client.service": service})
    assert retries.value == 1


def test_a_client_with_telemetry_off_records_nothing(loopback, telemetry, service):
    loopback.route("GET", "/items/1/", loopback.reply(200, {"id": 1}))
    sync_client, _ = _clients(service)
    with sync_client(base_url=loopback.url) as client:
        client.telemetry = False
        client.retrieve()
    assert not telemetry.spans.get_finished_spans()
    assert not telemetry.points("commons.client.calls", **{"commons.client.service": service})


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
    sent = [r.headers["traceparent"] for r in loopback.hits("GET", "/items/1/")]
    assert sent == [_traceparent(span) for span in http_spans]

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
    first, second = result["traceparents"]
    assert first == second
    assert first.split("-")[1] == incoming.split("-")[1]
