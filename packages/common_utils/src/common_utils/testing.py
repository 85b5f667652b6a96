"""Test support: an OTLP/HTTP receiver on 127.0.0.1 that keeps the spans a process exports to it.

A test that checks what a service exports runs the service (a fresh process, typically) with
``OTEL_EXPORTER_OTLP_ENDPOINT`` set to the receiver's ``endpoint``, then reads ``spans``::

    from opentelemetry.proto.trace.v1.trace_pb2 import Span
    from common_utils.testing import OtlpReceiver

    with OtlpReceiver() as receiver:
        run_the_service(OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint)  # and flush its spans
        [served] = [s for s in receiver.spans if s.span.kind == Span.SPAN_KIND_SERVER]
        assert served.service_name == "orders"

The receiver is a real HTTP server in a thread of the test's process, on a free port, answering
what OpenTelemetry's OTLP/HTTP exporter sends (``POST /v1/traces``, protobuf, optionally gzip or
deflate). Each span is kept as it was received (OpenTelemetry's protobuf ``Span`` message) with its
service's name, its resource's string attributes and its instrumentation scope. What it cannot
decode gets a 400, a body over ``max_body_size`` a 413, another path a 404, another content type
a 415, and the receiver goes on answering.

The messages come from ``opentelemetry-proto``, which the ``tracing`` extra installs (the OTLP
exporter depends on it): importing this module imports none of it, starting a receiver does.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, NamedTuple

from common_utils._errors import MissingExtraError

if TYPE_CHECKING:
    from opentelemetry.proto.trace.v1.trace_pb2 import Span

__all__ = ["DEFAULT_MAX_BODY_SIZE", "OtlpReceiver", "ReceivedSpan"]

DEFAULT_MAX_BODY_SIZE = 4 * 1024 * 1024
"""The largest export a receiver takes, in bytes, decompressed or not (4 MiB: a batch of 512
spans, the batch processor's default, is a few hundred kilobytes)."""

_TRACES_PATH = "/v1/traces"
_PROTOBUF = "application/x-protobuf"


class ReceivedSpan(NamedTuple):
    """One span an ``OtlpReceiver`` received."""

    service_name: str
    """The ``service.name`` of the span's resource (``""`` when it has none)."""
    span: Span
    """The span as exported: OpenTelemetry's protobuf message (``trace_id``, ``name``, ``kind``,
    ``attributes``...)."""
    resource: Mapping[str, str]
    """The string attributes of the span's resource (``service.name``, those of
    ``OTEL_RESOURCE_ATTRIBUTES``...)."""
    scope: str
    """The name of the instrumentation scope that made the span (the tracer's name)."""


class _Refused(Exception):
    """What the handler answers instead of taking an export: a status and a line saying why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def _decoder() -> Callable[[bytes], list[ReceivedSpan]]:
    """The function that decodes an export request's body into its spans, or raises
    ``MissingExtraError`` when opentelemetry-proto is not installed."""
    try:
        from google.protobuf.message import DecodeError
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )
    except ImportError as exc:
        raise MissingExtraError(
            f"OtlpReceiver decodes spans with opentelemetry-proto ({exc.name} cannot be "
            "imported): install common-utils[tracing]"
        ) from None

    def decode(body: bytes) -> list[ReceivedSpan]:
        try:
            request = ExportTraceServiceRequest.FromString(body)
        except DecodeError as exc:
            raise _Refused(400, f"not an OTLP ExportTraceServiceRequest: {exc}") from None
        received: list[ReceivedSpan] = []
        for resource_spans in request.resource_spans:
            resource = MappingProxyType(
                {
                    attribute.key: attribute.value.string_value
                    for attribute in resource_spans.resource.attributes
                    if attribute.value.WhichOneof("value") == "string_value"
                }
            )
            service_name = resource.get("service.name", "")
            for scope_spans in resource_spans.scope_spans:
                scope = scope_spans.scope.name
                received += [
                    ReceivedSpan(service_name, span, resource, scope) for span in scope_spans.spans
                ]
        return received

    return decode


def _decompress(body: bytes, encoding: str, limit: int) -> bytes:
    """``body`` inflated (``gzip`` or ``deflate``), never to more than ``limit`` bytes."""
    # wbits: 16 + MAX_WBITS reads a gzip header, MAX_WBITS a zlib one (the exporter's deflate).
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise _Refused(400, f"a {encoding} body that does not inflate: {exc}") from None
    if len(data) > limit:
        raise _Refused(413, f"a body of more than {limit} bytes once inflated")
    if not inflater.eof:
        raise _Refused(400, f"a truncated {encoding} body")
    return data


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, receiver: OtlpReceiver) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.receiver = receiver

    def handle_error(self, request: object, client_address: object) -> None:
        """A connection the client broke off: nothing a test needs printed (the base class
        prints a traceback)."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # A client that stops sending mid-body frees its thread after this many seconds.
    timeout = 30

    def do_POST(self) -> None:
        receiver = self.server.receiver
        try:
            spans = receiver._decode(self._body(receiver.max_body_size))
        except _Refused as refused:
            self._answer(refused.status, str(refused))
            return
        receiver._keep(spans)
        # An empty ExportTraceServiceResponse (full success) serializes to no bytes.
        self._answer(200, "", content_type=_PROTOBUF)

    def _body(self, limit: int) -> bytes:
        """The request's body, decompressed, or ``_Refused`` saying what is wrong with it."""
        path = self.path.partition("?")[0]
        if path != _TRACES_PATH:
            raise _Refused(404, f"{path} is not {_TRACES_PATH}: this receiver takes traces only")
        content_type = self.headers.get("Content-Type", "").partition(";")[0].strip().lower()
        if content_type != _PROTOBUF:
            raise _Refused(415, f"Content-Type {content_type!r} is not {_PROTOBUF}")
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            raise _Refused(411, "Content-Length is required")
        length = int(length_header) if length_header.strip().isdigit() else -1
        if length < 0:
            raise _Refused(400, f"Content-Length {length_header!r} is not a size")
        if length > limit:
            # Not read: the connection closes after the answer.
            raise _Refused(413, f"a body of {length} bytes, over {limit}")
        body = self.rfile.read(length)
        encoding = self.headers.get("Content-Encoding", "").strip().lower()
        if encoding in ("", "identity"):
            return body
        if encoding not in ("gzip", "deflate"):
            raise _Refused(415, f"Content-Encoding {encoding!r} is not gzip or deflate")
        return _decompress(body, encoding, limit)

    def _answer(self, status: int, text: str, *, content_type: str = "text/plain") -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if status >= 400:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        pass


class OtlpReceiver:
    """An OTLP/HTTP trace receiver on a free port of 127.0.0.1, serving in a thread of its own
    from when it is made until ``close()`` (or the end of its ``with`` block); ``spans`` is every
    span received so far, in the order received.

    ``max_body_size`` bounds an export request's body (once decompressed too); a larger one is
    refused with a 413. Raises ``MissingExtraError`` (an ``ImportError``) when
    opentelemetry-proto is not installed.
    """

    def __init__(self, *, max_body_size: int = DEFAULT_MAX_BODY_SIZE) -> None:
        self._decode = _decoder()
        self.max_body_size = max_body_size
        self._lock = threading.Lock()
        self._spans: list[ReceivedSpan] = []
        self._server = _Server(self)
        port = self._server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{port}"
        """The receiver's base URL (``http://127.0.0.1:PORT``), the value of
        ``OTEL_EXPORTER_OTLP_ENDPOINT``: the exporter posts to ``/v1/traces`` under it."""
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"otlp-receiver-{port}",
            daemon=True,
        )
        self._thread.start()
        self._closed = False

    @property
    def spans(self) -> list[ReceivedSpan]:
        """Every span received so far (a copy: later exports do not change it)."""
        with self._lock:
            return list(self._spans)

    def _keep(self, spans: list[ReceivedSpan]) -> None:
        with self._lock:
            self._spans += spans

    def close(self) -> None:
        """Stop serving and free the port; the spans received stay readable. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> OtlpReceiver:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
