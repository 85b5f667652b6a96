"""The trace context in and out through the service's global propagator, whichever it is.

With OpenTelemetry's default one (W3C TraceContext, then W3C Baggage) the request middleware and
``outgoing_headers()`` go straight to the TraceContext propagator when there is no baggage: these
check that baggage still comes in and goes out, and that a service that sets another propagator
gets it on both sides.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from opentelemetry import baggage, propagate, trace
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import (
    CarrierT,
    Getter,
    Setter,
    TextMapPropagator,
    default_getter,
    default_setter,
)
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags

from common_utils import outgoing_headers
from common_utils.django import RequestContextMiddleware

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
CALLER = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"


class HeaderPairPropagator(TextMapPropagator):
    """A propagator of the service's own: ``x-trace: <trace id>/<span id>``."""

    def extract(
        self,
        carrier: CarrierT,
        context: Context | None = None,
        getter: Getter[CarrierT] = default_getter,
    ) -> Context:
        values = getter.get(carrier, "x-trace")
        if not values or "/" not in values[0]:
            return context if context is not None else Context()
        trace_id, span_id = values[0].split("/")
        span = NonRecordingSpan(
            SpanContext(
                int(trace_id, 16), int(span_id, 16), is_remote=True, trace_flags=TraceFlags(1)
            )
        )
        return trace.set_span_in_context(span, context)

    def inject(
        self,
        carrier: CarrierT,
        context: Context | None = None,
        setter: Setter[CarrierT] = default_setter,
    ) -> None:
        span_context = trace.get_current_span(context).get_span_context()
        if span_context.is_valid:
            value = f"{span_context.trace_id:032x}/{span_context.span_id:016x}"
            setter.set(carrier, "x-trace", value)

    @property
    def fields(self) -> set[str]:
        return {"x-trace"}


def _handle(headers: Mapping[str, str]) -> dict[str, Any]:
    """Serve one request with ``headers``; what the view saw of baggage and outgoing headers."""
    seen: dict[str, Any] = {}

    def view(request: HttpRequest) -> HttpResponse:
        seen["baggage"] = dict(baggage.get_all())
        seen["outgoing"] = outgoing_headers()
        return HttpResponse("ok")

    request = RequestFactory().get("/orders/7/", headers=dict(headers))
    RequestContextMiddleware(view)(request)
    return seen


@pytest.fixture
def own_propagator() -> Iterator[None]:
    previous = propagate.get_global_textmap()
    propagate.set_global_textmap(HeaderPairPropagator())
    try:
        yield
    finally:
        propagate.set_global_textmap(previous)


def test_baggage_comes_in_with_the_request_and_goes_out_with_its_calls(spans: Any) -> None:
    seen = _handle({"traceparent": CALLER, "baggage": "tenant=acme,plan=gold"})
    assert seen["baggage"] == {"tenant": "acme", "plan": "gold"}
    outgoing = seen["outgoing"]
    assert sorted(outgoing["baggage"].split(",")) == ["plan=gold", "tenant=acme"]
    assert outgoing["traceparent"].startswith(f"00-{CALLER_TRACE}-")
    (span,) = spans.get_finished_spans()
    assert span.parent is not None
    assert f"{span.parent.span_id:016x}" == CALLER_SPAN


def test_without_baggage_only_the_trace_goes_out(spans: Any) -> None:
    seen = _handle({"traceparent": CALLER})
    assert seen["baggage"] == {}
    assert set(seen["outgoing"]) == {"X-Request-ID", "traceparent"}


def test_a_tracestate_without_a_traceparent_starts_a_new_trace(spans: Any) -> None:
    seen = _handle({"tracestate": "vendor=1"})
    (span,) = spans.get_finished_spans()
    assert span.parent is None
    assert span.context.trace_state.get("vendor") is None
    assert f"{span.context.trace_id:032x}" in seen["outgoing"]["traceparent"]


def test_a_propagator_the_service_sets_reads_and_writes_the_trace(
    spans: Any, own_propagator: None
) -> None:
    seen = _handle({"x-trace": f"{CALLER_TRACE}/{CALLER_SPAN}", "traceparent": CALLER})
    (span,) = spans.get_finished_spans()
    assert span.kind is SpanKind.SERVER
    assert span.parent is not None
    assert f"{span.parent.span_id:016x}" == CALLER_SPAN
    outgoing = seen["outgoing"]
    assert "traceparent" not in outgoing
    assert outgoing["x-trace"] == f"{CALLER_TRACE}/{span.context.span_id:016x}"


def test_with_the_services_propagator_a_w3c_header_alone_is_not_a_parent(
    spans: Any, own_propagator: None
) -> None:
    _handle({"traceparent": CALLER})
    (span,) = spans.get_finished_spans()
    assert span.parent is None


def test_setting_the_default_propagator_again_is_seen(spans: Any) -> None:
    default = propagate.get_global_textmap()
    propagate.set_global_textmap(HeaderPairPropagator())
    try:
        _handle({"x-trace": f"{CALLER_TRACE}/{CALLER_SPAN}"})
    finally:
        propagate.set_global_textmap(default)
    seen = _handle({"traceparent": CALLER})
    first, second = spans.get_finished_spans()
    assert first.parent is not None
    assert second.parent is not None
    assert "traceparent" in seen["outgoing"]
    carrier: MutableMapping[str, str] = {}
    propagate.inject(carrier)
    assert carrier == {}
