"""The demo's trace receiver and waterfall: a real OTLP/HTTP exporter sends to the receiver on
127.0.0.1 and what it decoded is what the SDK recorded; one trace drawn as text and as SVG."""

from __future__ import annotations

import gzip
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import replace

import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Link, SpanKind, StatusCode

from commons_tools.errors import TraceError
from commons_tools.traces import (
    ReceivedSpan,
    SpanLink,
    TraceReceiver,
    decode_export_request,
    format_waterfall,
    linked_traces,
    waterfall,
    waterfall_svg,
)


@pytest.fixture
def receiver() -> Iterator[TraceReceiver]:
    with TraceReceiver() as running:
        yield running


def _provider(receiver: TraceReceiver, compression: Compression | None = None) -> TracerProvider:
    """An SDK provider of its own (never the global one) exporting each span as it ends."""
    provider = TracerProvider(
        resource=Resource.create({"service.name": "orders", "commons.process": "web"})
    )
    provider.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint=receiver.traces_url, compression=compression))
    )
    return provider


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (loopback)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_real_otlp_exporter_sends_what_the_receiver_decodes(receiver: TraceReceiver) -> None:
    provider = _provider(receiver)
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("earlier publish", kind=SpanKind.PRODUCER) as publisher:
        pass
    link = Link(publisher.get_span_context(), {"messaging.operation.type": "publish"})
    with (
        tracer.start_as_current_span(
            "POST /api/orders/",
            kind=SpanKind.SERVER,
            attributes={"http.request.method": "POST", "http.response.status_code": 201},
        ) as server,
        tracer.start_as_current_span("GET users", kind=SpanKind.CLIENT, links=[link]) as client,
    ):
        client.set_attribute("commons.retry.attempts", [1, 2])
        client.set_attribute("commons.cached", False)
        client.set_attribute("commons.ratio", 0.5)
        client.set_status(StatusCode.ERROR)
    provider.shutdown()

    spans = {s.name: s for s in receiver.spans()}
    assert set(spans) == {"earlier publish", "POST /api/orders/", "GET users"}
    got_server, got_client = spans["POST /api/orders/"], spans["GET users"]
    context = server.get_span_context()
    assert got_server.trace_id == f"{context.trace_id:032x}"
    assert got_server.span_id == f"{context.span_id:016x}"
    assert got_server.parent_span_id is None
    assert got_client.parent_span_id == got_server.span_id
    assert got_client.trace_id == got_server.trace_id
    assert (got_server.service, got_server.process) == ("orders", "orders-web")
    assert (got_server.kind, got_client.kind) == ("SERVER", "CLIENT")
    assert got_client.status == "ERROR"
    assert got_server.attributes == {
        "http.request.method": "POST",
        "http.response.status_code": 201,
    }
    assert got_client.attributes == {
        "commons.retry.attempts": [1, 2],
        "commons.cached": False,
        "commons.ratio": 0.5,
    }
    assert isinstance(server, ReadableSpan)
    assert server.start_time is not None
    assert server.end_time is not None
    assert (got_server.start_ns, got_server.end_ns) == (server.start_time, server.end_time)
    assert got_server.start_ns <= got_client.start_ns <= got_client.end_ns <= got_server.end_ns
    (got_link,) = got_client.links
    publish_context = publisher.get_span_context()
    assert (got_link.trace_id, got_link.span_id) == (
        f"{publish_context.trace_id:032x}",
        f"{publish_context.span_id:016x}",
    )
    assert got_link.attributes == {"messaging.operation.type": "publish"}
    assert got_server.scope == "test"
    assert receiver.spans(got_server.trace_id) == [got_client, got_server]
    assert receiver.rejected == []


def test_gzip_bodies_are_decoded_too(receiver: TraceReceiver) -> None:
    provider = _provider(receiver, compression=Compression.Gzip)
    with provider.get_tracer("test").start_as_current_span("compressed"):
        pass
    provider.shutdown()
    assert [s.name for s in receiver.spans()] == ["compressed"]


def test_what_is_not_an_otlp_protobuf_request_is_refused_and_kept_nowhere(
    receiver: TraceReceiver,
) -> None:
    protobuf = {"Content-Type": "application/x-protobuf"}
    assert _post(receiver.traces_url, b"\xff\xff\xff", protobuf) == 400
    assert _post(receiver.traces_url, b"{}", {"Content-Type": "application/json"}) == 415
    assert _post(f"{receiver.url}/v1/metrics", b"", protobuf) == 404
    broken_gzip = {**protobuf, "Content-Encoding": "gzip"}
    assert _post(receiver.traces_url, b"not gzip", broken_gzip) == 400
    assert _post(receiver.traces_url, gzip.compress(b""), broken_gzip) == 200  # an empty request
    assert receiver.spans() == []
    assert [reason.split()[0] for reason in receiver.rejected] == ["400", "415", "404", "400"]


def test_decoding_names_what_is_wrong() -> None:
    with pytest.raises(TraceError, match="not an OTLP ExportTraceServiceRequest"):
        decode_export_request(b"\xff\xff\xff")


def test_wait_for_returns_when_the_spans_arrive_or_says_they_did_not(
    receiver: TraceReceiver,
) -> None:
    assert not receiver.wait_for(bool, timeout=0.05)
    provider = _provider(receiver)
    with provider.get_tracer("test").start_as_current_span("arrives"):
        pass
    provider.shutdown()
    assert receiver.wait_for(lambda spans: [s.name for s in spans] == ["arrives"], timeout=10)


def test_settle_gives_one_traces_spans_once_they_stopped_coming(receiver: TraceReceiver) -> None:
    provider = _provider(receiver)
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("order") as order, tracer.start_as_current_span("lookup"):
        pass
    with tracer.start_as_current_span("another trace"):
        pass
    provider.shutdown()
    trace_id = f"{order.get_span_context().trace_id:032x}"
    settled = receiver.settle(trace_id, quiet=0.05, timeout=10)
    assert sorted(s.name for s in settled) == ["lookup", "order"]
    assert receiver.settle("0" * 32, quiet=0.05, timeout=10) == []


def _span(
    name: str, span_id: str, parent: str | None, start: int, end: int, **extra: str
) -> ReceivedSpan:
    return ReceivedSpan(
        service=extra.get("service", "orders"),
        name=name,
        trace_id="ab" * 16,
        span_id=span_id,
        parent_span_id=parent,
        start_ns=start,
        end_ns=end,
    )


TRACE = [
    # Given out of order: the waterfall sorts by parentage, then by start.
    _span("relay publish", "0000000000000004", "0000000000000001", 30_000_000, 35_000_000),
    _span("GET users", "0000000000000003", "0000000000000002", 12_000_000, 20_000_000),
    _span("POST /api/orders/", "0000000000000002", "0000000000000001", 10_000_000, 25_000_000),
    _span("place order", "0000000000000001", None, 10_000_000, 40_000_000, service="demo"),
    _span(
        "users GET", "0000000000000005", "0000000000000003", 13_000_000, 19_000_000, service="users"
    ),
    # Its parent never arrived (a process without tracing): shown as a root of its own.
    _span(
        "consume",
        "0000000000000006",
        "00000000000000ff",
        36_000_000,
        50_000_000,
        service="notifications",
    ),
]


def test_the_waterfall_puts_each_span_under_its_parent_in_start_order() -> None:
    rows = waterfall(TRACE)
    assert [(r.span.name, r.depth, r.offset_ns) for r in rows] == [
        ("place order", 0, 0),
        ("POST /api/orders/", 1, 0),
        ("GET users", 2, 2_000_000),
        ("users GET", 3, 3_000_000),
        ("relay publish", 1, 20_000_000),
        ("consume", 0, 26_000_000),
    ]


def test_the_text_waterfall_shows_process_indented_span_offset_and_duration() -> None:
    header, *lines = format_waterfall(TRACE, bar_width=40)
    assert header.split() == ["process", "span", "start", "duration"]
    assert lines[0].split("|")[0].split() == ["demo", "place", "order", "0.0", "ms", "30.0", "ms"]
    users = lines[3]
    assert users.startswith("users ")
    assert "      users GET" in users  # three levels deep
    assert "3.0 ms" in users
    assert "6.0 ms" in users
    # The bars share one time axis: the 40 columns span the trace's 40 ms, one a millisecond.
    bars = [line.split("|")[1] for line in lines]
    assert bars[0] == "#" * 30 + " " * 10
    assert bars[3] == " " * 3 + "#" * 6 + " " * 31
    assert bars[5] == " " * 26 + "#" * 14


def test_a_trace_linked_into_this_one_hangs_under_the_span_it_links_to() -> None:
    relay = ReceivedSpan(
        service="orders",
        name="publish",
        trace_id="cd" * 16,
        span_id="0000000000000010",
        parent_span_id=None,
        start_ns=31_000_000,
        end_ns=33_000_000,
        links=(SpanLink("ab" * 16, "0000000000000004"),),
    )
    consumer = ReceivedSpan(
        service="notifications",
        name="process",
        trace_id="cd" * 16,
        span_id="0000000000000011",
        parent_span_id="0000000000000010",
        start_ns=32_000_000,
        end_ns=34_000_000,
    )
    unrelated = replace(_span("elsewhere", "0000000000000012", None, 0, 1), trace_id="ef" * 16)
    assert linked_traces([*TRACE, relay, consumer, unrelated], "ab" * 16) == [relay, consumer]
    rows = waterfall([*TRACE, relay, consumer])
    placed = [(r.span.name, r.depth, r.linked) for r in rows]
    relay_at = placed.index(("relay publish", 1, False))
    assert placed[relay_at + 1 : relay_at + 3] == [("publish", 2, True), ("process", 3, False)]
    lines = format_waterfall([*TRACE, relay, consumer])
    assert "      ~ publish" in lines[1 + relay_at + 1]


def test_the_svg_is_one_well_formed_picture_with_a_bar_per_span() -> None:
    svg = waterfall_svg(TRACE, title="order #1 <trace abab>")
    root = ET.fromstring(svg)  # noqa: S314 (our own output)
    ns = {"svg": "http://www.w3.org/2000/svg"}
    bars = root.findall("./svg:g/svg:rect", ns)
    assert len(bars) == len(TRACE)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "order #1 <trace abab>" in texts
    assert {"place order", "users GET", "consume"} <= set(texts)
    widths = [float(bar.attrib["width"]) for bar in bars]
    assert widths[0] == pytest.approx(640 * 30 / 40)


def test_an_empty_trace_draws_an_empty_picture_and_no_lines() -> None:
    assert format_waterfall([]) == []
    root = ET.fromstring(waterfall_svg([], title="nothing"))  # noqa: S314 (our own output)
    assert "no span of this trace was received" in [
        t.text for t in root.iter("{http://www.w3.org/2000/svg}text")
    ]
