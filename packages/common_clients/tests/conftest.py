"""Shared fixtures of the common-clients tests: a scriptable HTTP server on 127.0.0.1.

``loopback`` is a real threaded HTTP/1.1 server on a free port; a test scripts its answers per
``(method, path)`` with :class:`Reply` objects (a list is played in order, the last one repeating)
and reads what arrived from ``loopback.requests``. Slow replies wait on an event that the fixture
sets when it stops the server, so no test can hang on one.

This folder also holds what the tests import beside the runtime and out of its wheel: the
generated test-only ``inventory_client`` (``nox -s clients`` keeps it current) and
``openapi_corpus``, the fetcher of the third-party documents; it is put on ``sys.path`` here.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))


@dataclass
class Reply:
    """One scripted answer; ``delay`` seconds pass before the status line is sent."""

    status: int = 200
    body: bytes | str | Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False  # close the connection without answering

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if isinstance(self.body, bytes):
            return self.body, headers
        if isinstance(self.body, str):
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
            return self.body.encode(), headers
        headers.setdefault("Content-Type", "application/json")
        return json.dumps(self.body).encode(), headers


@dataclass
class Received:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    peer: int = 0  # the client's port: the same one for calls over one kept-alive connection
    header_list: list[tuple[str, str]] = field(default_factory=list)  # as sent, repeats kept


Script = Reply | list[Reply] | Callable[[Received], Reply]


class LoopbackServer:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.stopping = threading.Event()
        self._routes: dict[tuple[str, str], Script] = {}
        self._played: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class names it
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                received = Received(
                    method=self.command,
                    path=parts.path,
                    query=parts.query,
                    headers={key.lower(): value for key, value in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                    peer=self.client_address[1],
                    header_list=[(key.lower(), value) for key, value in self.headers.items()],
                )
                reply = server.answer(received)
                if reply.delay and server.stopping.wait(reply.delay):
                    return
                if reply.drop:
                    self.close_connection = True
                    return
                body, headers = reply.encoded()
                self.send_response(reply.status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            # http.server dispatches on these names.
            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @staticmethod
    def reply(
        status: int = 200,
        body: bytes | str | Any = b"",
        *,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        drop: bool = False,
    ) -> Reply:
        """A :class:`Reply` (test modules cannot import this module under importlib mode)."""
        return Reply(status, body, dict(headers or {}), delay, drop)

    def route(self, method: str, path: str, script: Script) -> None:
        self._routes[(method, path)] = script

    def answer(self, received: Received) -> Reply:
        key = (received.method, received.path)
        with self._lock:
            self.requests.append(received)
            script = self._routes.get(key)
            played = self._played.get(key, 0)
            self._played[key] = played + 1
        if script is None:
            return Reply(404, {"detail": "Not found."})
        if isinstance(script, Reply):
            return script
        if isinstance(script, list):
            return script[min(played, len(script) - 1)]
        return script(received)

    def hits(self, method: str, path: str) -> list[Received]:
        return [r for r in self.requests if r.method == method and r.path == path]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    server = LoopbackServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def refused_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (a port bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@dataclass
class Telemetry:
    """The SDK this test process reports to: finished spans, and the metrics read so far."""

    spans: Any  # InMemorySpanExporter
    reader: Any  # InMemoryMetricReader

    def points(self, name: str, **labels: str) -> list[Any]:
        """The data points of metric ``name`` whose attributes include ``labels``."""
        data = self.reader.get_metrics_data()
        found = []
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name != name:
                        continue
                    for point in metric.data.data_points:
                        attributes = dict(point.attributes)
                        if all(attributes.get(k) == v for k, v in labels.items()):
                            found.append(point)
        return found


@pytest.fixture(scope="session")
def _telemetry_sdk() -> Telemetry:
    """The OpenTelemetry SDK, installed as the global providers once per process (it can be set
    only once): spans to memory as they end, metrics read on demand."""
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    return Telemetry(exporter, reader)


@pytest.fixture
def telemetry(_telemetry_sdk: Telemetry) -> Telemetry:
    """The process's SDK with no span left from an earlier test."""
    _telemetry_sdk.spans.clear()
    return _telemetry_sdk
