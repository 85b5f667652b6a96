"""Tracing: given an OTLP endpoint, each fresh process of the service (web) exports its
spans to it, here a receiver of the test's own on 127.0.0.1, under the service's name."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

SERVICE_DIR = Path(__file__).resolve().parents[1]


class _Receiver(ThreadingHTTPServer):
    """An OTLP/HTTP receiver: each span it is sent, with the service named in its resource."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.spans: list[tuple[str, Span]] = []


class _Handler(BaseHTTPRequestHandler):
    server: _Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        for resource_spans in ExportTraceServiceRequest.FromString(body).resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                self.server.spans += [(resource["service.name"], s) for s in scope_spans.spans]
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base's name)
        pass


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    server = _Receiver()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _run(script: str, receiver: _Receiver) -> None:
    """``script`` in a fresh Python process of the service, exporting to ``receiver``."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{receiver.server_address[1]}"
    done = subprocess.run(
        [sys.executable, "-c", script + "trace.get_tracer_provider().force_flush()\n"],
        cwd=SERVICE_DIR,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def test_the_web_process_exports_each_request(receiver: _Receiver) -> None:
    _run(
        "from users_service.wsgi import application\n"
        "from django.test import Client\n"
        "from opentelemetry import trace\n"
        "assert Client().get('/healthz/live/', HTTP_HOST='127.0.0.1').status_code == 200\n",
        receiver,
    )
    [(service, span)] = [(n, s) for n, s in receiver.spans if s.kind == Span.SPAN_KIND_SERVER]
    assert service == "users"
    assert "healthz/live" in span.name
