"""Traces seen on 127.0.0.1: an OTLP/HTTP receiver that keeps the spans it is sent, and one trace
drawn as a waterfall, in text and as an SVG picture.

`TraceReceiver` is what an OpenTelemetry collector is to the services, cut down to what the demo
and the tests need: ``POST /v1/traces`` with an ``ExportTraceServiceRequest`` (protobuf, the
encoding of OTLP/HTTP exporters; gzip or not), decoded with opentelemetry-proto into
`ReceivedSpan`s kept in memory: the service (from the resource), the span's name, ids, parent,
start and end, kind, status, attributes and links. A body that is not such a request is answered
400 and kept nowhere; JSON-encoded OTLP is answered 415.

`waterfall` orders one trace's spans by parentage (each child under its parent, siblings by
start; a span that starts a trace of its own but links into this one, as a message's consumer
may, under the span it links to), `format_waterfall` prints them (process, span indented by depth,
start offset, duration, a bar), and `waterfall_svg` draws the same rows as a picture a browser
opens. `linked_traces` finds the spans of the traces that link into one.
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TypeAlias

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from commons_tools.errors import TraceError

AttributeValue: TypeAlias = (
    str | bool | int | float | bytes | list["AttributeValue"] | dict[str, "AttributeValue"] | None
)
TRACES_PATH = "/v1/traces"
PROTOBUF = "application/x-protobuf"
MAX_BODY = 16 * 1024 * 1024  # an exporter's batch is far smaller; a larger body is refused (413)
# The resource attribute that names a service's process (web, relay, worker) in the pictures.
PROCESS_ATTRIBUTE = "commons.process"
_KINDS = {
    Span.SPAN_KIND_UNSPECIFIED: "UNSPECIFIED",
    Span.SPAN_KIND_INTERNAL: "INTERNAL",
    Span.SPAN_KIND_SERVER: "SERVER",
    Span.SPAN_KIND_CLIENT: "CLIENT",
    Span.SPAN_KIND_PRODUCER: "PRODUCER",
    Span.SPAN_KIND_CONSUMER: "CONSUMER",
}
_STATUSES = {
    Status.STATUS_CODE_UNSET: "UNSET",
    Status.STATUS_CODE_OK: "OK",
    Status.STATUS_CODE_ERROR: "ERROR",
}


@dataclass(frozen=True)
class SpanLink:
    """A link from a span to another span (a message's publisher, say), ids in hex."""

    trace_id: str
    span_id: str
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)


@dataclass(frozen=True)
class ReceivedSpan:
    """One span as an exporter sent it; ids in lower-case hex, times in Unix nanoseconds."""

    service: str
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str | None
    start_ns: int
    end_ns: int
    kind: str = "INTERNAL"
    status: str = "UNSET"
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)
    links: tuple[SpanLink, ...] = ()
    resource: Mapping[str, AttributeValue] = field(default_factory=dict)
    scope: str = ""

    @property
    def duration_ns(self) -> int:
        return max(self.end_ns - self.start_ns, 0)

    @property
    def process(self) -> str:
        """The service and, when its resource names it, the process: ``orders-relay``."""
        role = self.resource.get(PROCESS_ATTRIBUTE)
        return f"{self.service}-{role}" if isinstance(role, str) and role else self.service


# -- decoding --------------------------------------------------------------------------------------


def _value(value: AnyValue) -> AttributeValue:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    if kind is None:
        return None
    found: AttributeValue = getattr(value, kind)
    return found


def _attributes(pairs: Sequence[KeyValue]) -> dict[str, AttributeValue]:
    return {pair.key: _value(pair.value) for pair in pairs}


def decode_export_request(body: bytes) -> list[ReceivedSpan]:
    """The spans of an OTLP ``ExportTraceServiceRequest``; TraceError when ``body`` is not one."""
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except DecodeError as exc:
        raise TraceError(f"not an OTLP ExportTraceServiceRequest: {exc}") from None
    spans: list[ReceivedSpan] = []
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        service = resource.get("service.name")
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                if len(span.trace_id) != 16 or len(span.span_id) != 8:
                    raise TraceError(
                        f"span {span.name!r}: a trace id of 16 bytes and a span id of 8 expected, "
                        f"got {len(span.trace_id)} and {len(span.span_id)}"
                    )
                spans.append(
                    ReceivedSpan(
                        service=service if isinstance(service, str) else "unknown_service",
                        name=span.name,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex() or None,
                        start_ns=span.start_time_unix_nano,
                        end_ns=span.end_time_unix_nano,
                        kind=_KINDS.get(span.kind, "UNSPECIFIED"),
                        status=_STATUSES.get(span.status.code, "UNSET"),
                        attributes=_attributes(span.attributes),
                        links=tuple(
                            SpanLink(
                                link.trace_id.hex(),
                                link.span_id.hex(),
                                _attributes(link.attributes),
                            )
                            for link in span.links
                        ),
                        resource=resource,
                        scope=scope_spans.scope.name,
                    )
                )
    return spans


# -- the receiver ----------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _answer(self, status: HTTPStatus, body: bytes = b"", content_type: str = PROTOBUF) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _refuse(self, status: HTTPStatus, reason: str) -> None:
        self.server.receiver.note_rejected(f"{status.value} {reason}")
        self._answer(status, reason.encode(), "text/plain; charset=utf-8")

    def do_POST(self) -> None:
        if self.path.split("?", 1)[0] != TRACES_PATH:
            self._refuse(HTTPStatus.NOT_FOUND, f"{self.path}: only {TRACES_PATH} is received here")
            return
        content_type = self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if content_type != PROTOBUF:
            self._refuse(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                f"Content-Type {content_type or '(none)'}: only {PROTOBUF} (OTLP protobuf)",
            )
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._refuse(HTTPStatus.LENGTH_REQUIRED, "a Content-Length is required")
            return
        if not 0 <= length <= MAX_BODY:
            self._refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"over {MAX_BODY} bytes")
            return
        body = self.rfile.read(length)
        encoding = self.headers.get("Content-Encoding", "").strip().lower()
        try:
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            elif encoding not in ("", "identity"):
                self._refuse(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"Content-Encoding {encoding}")
                return
            spans = decode_export_request(body)
        except (OSError, EOFError, zlib.error, TraceError) as exc:
            self._refuse(HTTPStatus.BAD_REQUEST, str(exc) or type(exc).__name__)
            return
        self.server.receiver.keep(spans)
        self._answer(HTTPStatus.OK, ExportTraceServiceResponse().SerializeToString())

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base's name)
        """Quiet: the receiver is part of a demo's output, which says what it received."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], receiver: TraceReceiver) -> None:
        super().__init__(address, _Handler)
        self.receiver = receiver


class TraceReceiver:
    """An OTLP/HTTP trace receiver on 127.0.0.1 (a free port unless one is given).

    ``with TraceReceiver() as receiver:`` serves until the block ends; point an exporter at
    ``receiver.url`` (``OTEL_EXPORTER_OTLP_ENDPOINT``) or ``receiver.traces_url``
    (``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``).
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        try:
            self._server = _Server((host, port), self)
        except OSError as exc:
            raise TraceError(f"the trace receiver cannot listen on {host}:{port}: {exc}") from None
        self._changed = threading.Condition()
        self._spans: list[ReceivedSpan] = []
        self.rejected: list[str] = []
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def traces_url(self) -> str:
        return f"{self.url}{TRACES_PATH}"

    def start(self) -> TraceReceiver:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="trace-receiver", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> TraceReceiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- what it received ----------------------------------------------------------------------

    def keep(self, spans: Sequence[ReceivedSpan]) -> None:
        with self._changed:
            self._spans.extend(spans)
            self._changed.notify_all()

    def note_rejected(self, reason: str) -> None:
        with self._changed:
            self.rejected.append(reason)
            self._changed.notify_all()

    def spans(self, trace_id: str | None = None) -> list[ReceivedSpan]:
        """Every span received so far (of one trace when ``trace_id`` is given), as they came."""
        with self._changed:
            return [s for s in self._spans if trace_id is None or s.trace_id == trace_id]

    def wait_for(self, predicate: Callable[[list[ReceivedSpan]], bool], *, timeout: float) -> bool:
        """Whether ``predicate`` of the spans received held within ``timeout`` seconds (checked
        each time a request arrives, never by polling)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(list(self._spans)):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True

    def settle(self, trace_id: str, *, quiet: float, timeout: float) -> list[ReceivedSpan]:
        """The spans of ``trace_id`` once none has arrived for ``quiet`` seconds (the exporters'
        batches are in), or when ``timeout`` is up."""
        deadline = time.monotonic() + timeout
        with self._changed:
            count = -1
            while True:
                now = time.monotonic()
                spans = [s for s in self._spans if s.trace_id == trace_id]
                if len(spans) == count or now >= deadline:
                    return spans
                count = len(spans)
                quiet_until = now + quiet
                # Wake on every request; go on waiting while the ones that came were other traces.
                while time.monotonic() < min(quiet_until, deadline):
                    self._changed.wait(min(quiet_until, deadline) - time.monotonic())
                    if sum(1 for s in self._spans if s.trace_id == trace_id) != count:
                        break


# -- the waterfall ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class WaterfallRow:
    """One span in its place: how deep under the trace's roots, when after the first start, and
    whether it hangs there by a link rather than as a child (a relay's publish, a consumer's
    handling that start a trace of their own, linked to the span that wrote the message)."""

    span: ReceivedSpan
    depth: int
    offset_ns: int
    linked: bool = False


def waterfall(spans: Sequence[ReceivedSpan]) -> list[WaterfallRow]:
    """The spans in tree order: each root (no parent, or a parent that was not received) by start,
    each span's children under it by start. A span without a received parent that links to a
    received span hangs under that one instead (``linked``)."""
    if not spans:
        return []
    by_id = {s.span_id: s for s in spans}
    children: dict[str, list[ReceivedSpan]] = {}
    linked: set[str] = set()
    roots: list[ReceivedSpan] = []
    for span in spans:
        target = next(
            (k.span_id for k in span.links if k.span_id in by_id and k.span_id != span.span_id),
            None,
        )
        if (
            span.parent_span_id
            and span.parent_span_id in by_id
            and span.parent_span_id != span.span_id
        ):
            children.setdefault(span.parent_span_id, []).append(span)
        elif target is not None:
            children.setdefault(target, []).append(span)
            linked.add(span.span_id)
        else:
            roots.append(span)
    origin = min(s.start_ns for s in spans)
    rows: list[WaterfallRow] = []
    placed: set[str] = set()

    def place(span: ReceivedSpan, depth: int) -> None:
        if span.span_id in placed:
            return
        placed.add(span.span_id)
        rows.append(WaterfallRow(span, depth, span.start_ns - origin, span.span_id in linked))
        for child in sorted(children.get(span.span_id, []), key=_start_order):
            place(child, depth + 1)

    for root in sorted(roots, key=_start_order):
        place(root, 0)
    # A parent cycle (no real exporter sends one) would leave spans unplaced: show them as roots.
    for span in sorted(spans, key=_start_order):
        place(span, 0)
    return rows


def linked_traces(spans: Sequence[ReceivedSpan], trace_id: str) -> list[ReceivedSpan]:
    """The spans of the traces that link into ``trace_id``, directly or through one another (a
    relay's publish that starts a trace of its own, linked to the request that wrote the row)."""
    known = {trace_id}
    while True:
        more = {
            s.trace_id
            for s in spans
            if s.trace_id not in known and any(k.trace_id in known for k in s.links)
        }
        if not more:
            return [s for s in spans if s.trace_id in known and s.trace_id != trace_id]
        known |= more


def _start_order(span: ReceivedSpan) -> tuple[int, int, str]:
    return (span.start_ns, -span.end_ns, span.span_id)


def _ms(nanoseconds: int) -> str:
    return f"{nanoseconds / 1e6:,.1f} ms"


def _total_ns(rows: Sequence[WaterfallRow]) -> int:
    return max((r.offset_ns + r.span.duration_ns for r in rows), default=0) or 1


def format_waterfall(spans: Sequence[ReceivedSpan], *, bar_width: int = 32) -> list[str]:
    """The trace as text lines: process, span (indented by depth), start offset, duration, bar."""
    rows = waterfall(spans)
    if not rows:
        return []
    total = _total_ns(rows)
    process_width = max(len("process"), *(len(r.span.process) for r in rows))
    name_width = min(
        max(len("span"), *(2 * r.depth + 2 * r.linked + len(r.span.name) for r in rows)), 60
    )
    lines = [
        f"{'process':<{process_width}}  {'span':<{name_width}}  {'start':>10}  {'duration':>10}"
    ]
    for row in rows:
        name = ("  " * row.depth + ("~ " if row.linked else "") + row.span.name)[:name_width]
        begin = round(row.offset_ns / total * bar_width)
        length = max(1, round(row.span.duration_ns / total * bar_width))
        bar = " " * begin + "#" * min(length, bar_width - begin)
        lines.append(
            f"{row.span.process:<{process_width}}  {name:<{name_width}}  "
            f"{_ms(row.offset_ns):>10}  {_ms(row.span.duration_ns):>10}  |{bar:<{bar_width}}|"
        )
    return lines


_PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1", "#edc948", "#9c755f")


def waterfall_svg(spans: Sequence[ReceivedSpan], *, title: str) -> str:
    """The trace as an SVG document: one bar per span on a common time axis, labelled with its
    process and (indented) name; hovering a bar shows its timing and attributes."""
    rows = waterfall(spans)
    total = _total_ns(rows)
    label_width, bar_width, row_height, top = 430, 640, 22, 64
    width = label_width + bar_width + 110
    height = top + row_height * max(len(rows), 1) + 30
    processes = list(dict.fromkeys(r.span.process for r in rows))
    colour = {p: _PALETTE[i % len(_PALETTE)] for i, p in enumerate(processes)}
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="10" y="22" font-size="15" font-weight="bold">{escape(title)}</text>',
        f'<text x="10" y="42" fill="#555555">{len(rows)} spans from '
        f"{escape(', '.join(processes) or 'no process')}, {escape(_ms(total if rows else 0))} "
        "in all</text>",
    ]
    for tick in range(5):
        x = label_width + bar_width * tick / 4
        out.append(
            f'<line x1="{x:.1f}" y1="{top - 8}" x2="{x:.1f}" y2="{height - 24}" stroke="#dddddd"/>'
            f'<text x="{x:.1f}" y="{top - 12}" text-anchor="middle" fill="#777777">'
            f"{escape(_ms(round(total * tick / 4)))}</text>"
        )
    for index, row in enumerate(rows):
        y = top + index * row_height
        span = row.span
        x = label_width + bar_width * row.offset_ns / total
        w = max(bar_width * span.duration_ns / total, 1.0)
        details = "\n".join(
            [
                f"{span.process}: {span.name} ({span.kind}, {span.status})",
                f"start {_ms(row.offset_ns)}, duration {_ms(span.duration_ns)}",
                f"trace {span.trace_id} span {span.span_id}",
                *(f"{key} = {value!r}" for key, value in sorted(span.attributes.items())),
                *(f"link to {link.trace_id}/{link.span_id}" for link in span.links),
            ]
        )
        fill = "#d62728" if span.status == "ERROR" else colour[span.process]
        name_x = 150 + 12 * row.depth
        name_room = max((label_width - 16 - name_x) // 7, 8)  # characters that fit before the bars
        out.append(
            f"<g><title>{escape(details)}</title>"
            f'<text x="10" y="{y + 15}" fill="#333333">{escape(span.process)}</text>'
            f'<text x="{name_x}" y="{y + 15}">{"~ " if row.linked else ""}'
            f"{escape(span.name[:name_room])}</text>"
            f'<rect x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="{row_height - 8}" rx="2" '
            f'fill="{fill}"/>'
            f'<text x="{min(x + w + 4, label_width + bar_width + 4):.1f}" y="{y + 15}" '
            f'fill="#555555">{escape(_ms(span.duration_ns))}</text></g>'
        )
    if not rows:
        out.append(f'<text x="10" y="{top + 15}">no span of this trace was received</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
