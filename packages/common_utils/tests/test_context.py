"""The request context: ids, W3C traceparent parsing and the headers sent downstream.

These run with the SDK's tracer provider (conftest); test_tracing_without_sdk.py runs without.
"""

from __future__ import annotations

import asyncio
import re

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan

from common_utils import (
    InvalidRequestIdError,
    InvalidTraceparentError,
    current_request_context,
    get_request_id,
    lenient_request_context,
    outgoing_headers,
    parse_traceparent,
    request_context,
    use_request_context,
)

CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_outside_any_context_there_is_no_request_id_and_no_header() -> None:
    assert get_request_id() is None
    assert current_request_context() is None
    assert outgoing_headers() == {}


def test_request_context_sets_and_restores_the_request_id() -> None:
    with request_context(request_id="outer") as outer:
        assert get_request_id() == "outer"
        with request_context(request_id="inner"):
            assert get_request_id() == "inner"
        assert current_request_context() is outer
    assert get_request_id() is None


def test_missing_request_id_is_made_up_and_no_trace_is_made_up() -> None:
    with request_context() as ctx:
        assert re.fullmatch(r"[0-9a-f]{32}", ctx.request_id)
        # No span is current and no caller sent one: there is no trace to pass on.
        assert (ctx.trace_id, ctx.span_id, ctx.traceparent) == (None, None, None)
        assert outgoing_headers() == {"X-Request-ID": ctx.request_id}


def test_the_current_span_is_the_trace_passed_on() -> None:
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("work") as span, request_context(request_id="r-0") as ctx:
        ids = span.get_span_context()
        traceparent = f"00-{ids.trace_id:032x}-{ids.span_id:016x}-{ids.trace_flags:02x}"
        assert ctx.traceparent == traceparent
        assert outgoing_headers() == {"X-Request-ID": "r-0", "traceparent": traceparent}


def test_callers_trace_continues_in_spans_started_inside() -> None:
    tracer = trace.get_tracer("test")
    with request_context(request_id="r-1", traceparent=CALLER) as ctx:
        # No span of this service yet: what is passed on is the caller's own position.
        assert ctx.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
        assert ctx.span_id == "00f067aa0ba902b7"
        assert outgoing_headers()["traceparent"] == CALLER
        with tracer.start_as_current_span("work") as span:
            headers = outgoing_headers()
    assert isinstance(span, ReadableSpan)  # the SDK's span (conftest), which knows its parent
    assert span.parent is not None
    assert f"{span.parent.span_id:016x}" == "00f067aa0ba902b7"
    mine = span.get_span_context()
    assert headers == {
        "X-Request-ID": "r-1",
        "traceparent": f"00-4bf92f3577b34da6a3ce929d0e0e4736-{mine.span_id:016x}-01",
    }


def test_the_trace_context_is_restored_after_the_block() -> None:
    with request_context(traceparent=CALLER):
        pass
    assert outgoing_headers() == {}
    assert not trace.get_current_span().get_span_context().is_valid


def test_parsing_keeps_only_the_sampled_flag() -> None:
    assert parse_traceparent(CALLER[:-2] + "ff")[2] == "01"
    assert parse_traceparent(CALLER[:-2] + "fe")[2] == "00"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
    ],
)
def test_malformed_traceparent_is_refused(value: str) -> None:
    with pytest.raises(InvalidTraceparentError, match="traceparent"):
        parse_traceparent(value)


def test_future_version_with_extra_fields_is_accepted() -> None:
    value = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds"
    assert parse_traceparent(value) == (
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "00f067aa0ba902b7",
        "01",
    )


@pytest.mark.parametrize("value", ["", "has space", "new\nline", "x" * 201, "caf\u00e9"])
def test_unsafe_request_id_is_refused(value: str) -> None:
    with (
        pytest.raises(InvalidRequestIdError, match="X-Request-ID"),
        request_context(request_id=value),
    ):
        pass


def test_lenient_context_keeps_a_valid_trace_when_the_request_id_is_bad(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level("INFO", logger="common_utils.request"):
        ctx = lenient_request_context(request_id="two words", traceparent=CALLER, source="event 7")
    assert ctx.request_id != "two words"
    assert re.fullmatch(r"[0-9a-f]{32}", ctx.request_id)
    assert (ctx.trace_id, ctx.span_id) == ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")
    assert "ignoring an invalid request id from event 7" in caplog.text


def test_lenient_context_keeps_a_valid_request_id_when_the_traceparent_is_bad(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level("INFO", logger="common_utils.request"):
        ctx = lenient_request_context(request_id="rid-1", traceparent="00-zz", source="task 9")
    assert ctx.request_id == "rid-1"
    # A new trace: none of the current context's spans is its parent.
    with trace.get_tracer("test").start_as_current_span("outer"):
        assert ctx.trace_context is not None
        assert not trace.get_current_span(ctx.trace_context).get_span_context().is_valid
    assert "ignoring an invalid traceparent from task 9" in caplog.text


def test_use_request_context_makes_a_built_context_current_and_restores() -> None:
    ctx = lenient_request_context(request_id="inner")
    with request_context(request_id="outer"):
        with use_request_context(ctx) as current:
            assert current is ctx
            assert get_request_id() == "inner"
        assert get_request_id() == "outer"
    assert get_request_id() is None


def test_concurrent_tasks_keep_their_own_context() -> None:
    async def one(rid: str) -> str | None:
        with request_context(request_id=rid):
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            return get_request_id()

    async def both() -> list[str | None]:
        return list(await asyncio.gather(one("a"), one("b")))

    assert asyncio.run(both()) == ["a", "b"]
