"""``common_utils.testing.OtlpReceiver``: what OpenTelemetry's own OTLP/HTTP exporter sends it is
kept span by span; what is not an export gets a 4xx answer, and the receiver goes on answering."""

from __future__ import annotations

import gzip
import http.client
import json
import subprocess
import sys
import threading
from urllib.parse import urlsplit

import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.trace import SpanKind

from common_utils import CommonUtilsError, MissingExtraError
from common_utils.testing import DEFAULT_MAX_BODY_SIZE, OtlpReceiver, ReceivedSpan


def _provider(exporter: OTLPSpanExporter, **resource: str) -> TracerProvider:
    """A tracer provider of this test alone (the process-wide one stays unset) that exports each
    span as it ends."""
    provider = TracerProvider(resource=Resource.create({"service.name": "svc", **resource}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def _post(
    receiver: OtlpReceiver,
    body: bytes,
    *,
    path: str = "/v1/traces",
    headers: dict[str, str] | None = None,
) -> tuple[int, str]:
    """POST ``body`` to the receiver as the exporter would; its answer's status and text."""
    connection = http.client.HTTPConnection(urlsplit(receiver.endpoint).netloc, timeout=10)
    try:
        connection.request(
            "POST",
            path,
            body=body,
            headers={"Content-Type": "application/x-protobuf", **(headers or {})},
        )
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def _export_one(
    receiver: OtlpReceiver, name: str, *, compression: Compression | None = None
) -> SpanExportResult:
    """One span named ``name`` through a real exporter to the receiver; the export's result."""
    exporter = OTLPSpanExporter(f"{receiver.endpoint}/v1/traces", compression=compression)
    provider = TracerProvider(resource=Resource.create({"service.name": "svc"}))
    span = provider.get_tracer("test").start_span(name)
    span.end()
    assert isinstance(span, ReadableSpan)
    result = exporter.export([span])
    exporter.shutdown()  # type: ignore[no-untyped-call]  # the exporter has no annotations there
    provider.shutdown()
    return result


def test_the_spans_the_exporter_sends_to_the_endpoint_are_kept_with_their_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with OtlpReceiver() as receiver:
        # The endpoint is the base URL OTEL_EXPORTER_OTLP_ENDPOINT takes.
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
        provider = _provider(OTLPSpanExporter(), **{"deployment.environment.name": "test"})
        tracer = provider.get_tracer("orders.views")
        with (
            tracer.start_as_current_span("GET /orders/", kind=SpanKind.SERVER) as served,
            tracer.start_as_current_span("SELECT orders"),
        ):
            pass
        provider.shutdown()
        received = receiver.spans

    assert [(r.service_name, r.scope, r.span.name) for r in received] == [
        ("svc", "orders.views", "SELECT orders"),
        ("svc", "orders.views", "GET /orders/"),
    ]
    inner, outer = received
    assert isinstance(outer, ReceivedSpan)
    assert outer.span.kind == Span.SPAN_KIND_SERVER
    assert outer.span.trace_id == served.get_span_context().trace_id.to_bytes(16, "big")
    assert (inner.span.trace_id, inner.span.parent_span_id) == (
        outer.span.trace_id,
        outer.span.span_id,
    )
    assert outer.resource["service.name"] == "svc"
    assert outer.resource["deployment.environment.name"] == "test"
    # Only string attributes are in the mapping; the SDK's own are there too.
    assert outer.resource["telemetry.sdk.language"] == "python"


@pytest.mark.parametrize("compression", [Compression.Gzip, Compression.Deflate])
def test_compressed_exports_are_read(compression: Compression) -> None:
    with OtlpReceiver() as receiver:
        assert _export_one(receiver, "compressed", compression=compression) is (
            SpanExportResult.SUCCESS
        )
        assert [r.span.name for r in receiver.spans] == ["compressed"]


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xff\xff\xff not protobuf",
        gzip.compress(b"not protobuf either")[:-3],  # sent as gzip, truncated
    ],
    ids=["not-protobuf", "truncated-gzip"],
)
def test_a_bad_body_is_a_400_and_the_receiver_keeps_working(body: bytes) -> None:
    with OtlpReceiver() as receiver:
        encoding = {"Content-Encoding": "gzip"} if body.startswith(b"\x1f\x8b") else {}
        status, text = _post(receiver, body, headers=encoding)
        assert status == 400
        assert "Traceback" not in text
        assert receiver.spans == []
        assert _export_one(receiver, "after") is SpanExportResult.SUCCESS
        assert [r.span.name for r in receiver.spans] == ["after"]


def test_a_body_over_the_bound_is_refused() -> None:
    empty_export = ExportTraceServiceRequest().SerializeToString()
    with OtlpReceiver(max_body_size=64) as receiver:
        assert receiver.max_body_size == 64
        assert _post(receiver, b"\0" * 65)[0] == 413  # refused unread
        # Under the bound as sent, over it once decompressed: inflated no further than the bound.
        bomb = gzip.compress(b"\0" * 5000)
        assert len(bomb) <= 64
        assert _post(receiver, bomb, headers={"Content-Encoding": "gzip"})[0] == 413
        assert _post(receiver, b"\xff" * 64)[0] == 400  # at the bound: read, and not protobuf
        assert _post(receiver, empty_export)[0] == 200
        # What the exporter sends over the bound fails the export, and nothing is kept.
        assert _export_one(receiver, "x" * 100) is SpanExportResult.FAILURE
        assert receiver.spans == []


def test_a_decompressed_body_over_the_bound_is_a_413() -> None:
    bomb = gzip.compress(b"\0" * (DEFAULT_MAX_BODY_SIZE + 1))
    assert len(bomb) < DEFAULT_MAX_BODY_SIZE
    with OtlpReceiver() as receiver:
        assert _post(receiver, bomb, headers={"Content-Encoding": "gzip"})[0] == 413
        assert _export_one(receiver, "after") is SpanExportResult.SUCCESS


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/v1/metrics", {}, 404),
        ("/v1/traces", {"Content-Type": "application/json"}, 415),
        ("/v1/traces", {"Content-Encoding": "br"}, 415),
        ("/v1/traces", {"Content-Length": "many"}, 400),
    ],
)
def test_what_is_not_a_trace_export_is_answered_4xx(
    path: str, headers: dict[str, str], status: int
) -> None:
    with OtlpReceiver() as receiver:
        assert _post(receiver, b"", path=path, headers=headers)[0] == status
        assert _export_one(receiver, "after") is SpanExportResult.SUCCESS


def test_exports_from_many_threads_are_all_kept() -> None:
    with OtlpReceiver() as receiver:
        results: list[SpanExportResult] = []
        threads = [
            threading.Thread(target=lambda n=n: results.append(_export_one(receiver, f"s{n}")))
            for n in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results == [SpanExportResult.SUCCESS] * 8
        assert sorted(r.span.name for r in receiver.spans) == [f"s{n}" for n in range(8)]


def test_spans_is_a_copy_and_stays_readable_after_the_block() -> None:
    with OtlpReceiver() as receiver:
        before = receiver.spans
        _export_one(receiver, "one")
    assert before == []
    assert [r.span.name for r in receiver.spans] == ["one"]
    receiver.close()  # closing twice is harmless


def test_importing_the_module_loads_neither_opentelemetry_nor_protobuf() -> None:
    code = (
        "import json, sys\n"
        "import common_utils.testing\n"
        "print(json.dumps(sorted({m.partition('.')[0] for m in sys.modules}"
        " & {'opentelemetry', 'google', 'pytest'})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=60
    )
    assert json.loads(done.stdout) == []


def test_without_opentelemetry_proto_it_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = "opentelemetry.proto.collector.trace.v1.trace_service_pb2"
    monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(MissingExtraError, match=r"install common-utils\[tracing\]$") as raised:
        OtlpReceiver()
    assert isinstance(raised.value, ImportError)
    assert isinstance(raised.value, CommonUtilsError)
