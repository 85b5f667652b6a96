"""Tracing of the orders service (``orders_service/tracing.py``): off unless the environment asks;
asked, a fresh process of the service exports its spans over OTLP/HTTP to the endpoint given,
here a receiver of the test's own on 127.0.0.1 that decodes what it gets."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from orders_service.tracing import configure_tracing, tracing_requested

SERVICE_DIR = Path(__file__).resolve().parents[1]
ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"


@pytest.mark.parametrize(
    ("environ", "requested"),
    [
        ({}, False),
        ({ENDPOINT: "http://127.0.0.1:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, True),
        ({ENDPOINT: "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"}, False),
        ({ENDPOINT: "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "none"}, False),
        ({ENDPOINT: "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, False),  # no endpoint: nothing to send to
    ],
)
def test_tracing_is_on_only_when_an_endpoint_is_given(
    environ: dict[str, str], requested: bool
) -> None:
    assert tracing_requested(environ) is requested


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OTEL_TRACES_EXPORTER", "console"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"),
    ],
)
def test_what_the_service_cannot_export_with_is_refused_by_name(variable: str, value: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=variable):
        tracing_requested({ENDPOINT: "http://127.0.0.1:4318", variable: value})


def test_off_configure_tracing_does_nothing() -> None:
    assert configure_tracing(environ={}) is None


class _Collector(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[tuple[str, str, bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: _Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append((self.path, self.headers["Content-Type"], body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base's name)
        pass


@pytest.fixture
def collector() -> Iterator[_Collector]:
    server = _Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _run(script: str, **environ: str) -> str:
    """``script`` in a fresh Python process of the service (one global tracer provider each)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=SERVICE_DIR,
        env={**clean, **environ},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _spans(collector: _Collector) -> list[tuple[dict[str, str], Span]]:
    """Each span received, with its resource's string attributes."""
    found: list[tuple[dict[str, str], Span]] = []
    for path, content_type, body in collector.requests:
        assert (path, content_type) == ("/v1/traces", "application/x-protobuf")
        for resource_spans in ExportTraceServiceRequest.FromString(body).resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                found += [(resource, span) for span in scope_spans.spans]
    return found


# The web process: wsgi.py sets tracing up before Django loads its middleware, so the request is
# a server span; the batch processor is flushed before the process ends.
WEB = """
from orders_service.wsgi import application
from django.test import Client
from opentelemetry import trace
print(Client().get("/healthz/live/", HTTP_HOST="127.0.0.1").status_code)
trace.get_tracer_provider().force_flush()
"""


def test_the_web_process_exports_each_request_as_a_server_span(collector: _Collector) -> None:
    out = _run(
        WEB,
        OTEL_EXPORTER_OTLP_ENDPOINT=collector.url,
        OTEL_RESOURCE_ATTRIBUTES="commons.process=web",
    )
    assert out.split() == ["200"]
    servers = [(r, s) for r, s in _spans(collector) if s.kind == Span.SPAN_KIND_SERVER]
    assert len(servers) == 1
    resource, span = servers[0]
    assert resource["service.name"] == "orders"
    assert resource["commons.process"] == "web"
    assert "healthz/live" in span.name
    assert len(span.trace_id) == 16


def test_without_an_endpoint_the_web_process_loads_no_sdk(collector: _Collector) -> None:
    script = WEB.replace(
        "trace.get_tracer_provider().force_flush()",
        "import sys; print(type(trace.get_tracer_provider()).__name__, "
        "'opentelemetry.sdk.trace' in sys.modules)",
    )
    assert _run(script).split() == ["200", "ProxyTracerProvider", "False"]
    assert collector.requests == []


def test_the_celery_app_sets_tracing_up_for_the_relay(collector: _Collector) -> None:
    """The relay loads ``orders_service.celery`` (COMMON_UTILS["CELERY_APP"]): its spans go out."""
    script = (
        "import orders_service.celery\n"
        "from opentelemetry import trace\n"
        "with trace.get_tracer('relay-test').start_as_current_span('publish a batch'):\n"
        "    pass\n"
        "trace.get_tracer_provider().force_flush()\n"
    )
    _run(script, OTEL_EXPORTER_OTLP_ENDPOINT=collector.url, OTEL_SERVICE_NAME="orders-relay")
    assert [(r["service.name"], s.name) for r, s in _spans(collector)] == [
        ("orders-relay", "publish a batch")
    ]
