"""Spans and metrics of client calls, through the OpenTelemetry API (with no SDK, nothing is kept).

A call is one span named after its operation (``users.users_retrieve``), kind INTERNAL, around its
attempts and the parsing of its answer. Each attempt is a CLIENT span named after its method (the
HTTP span, as the semantic conventions name it): ``http.request.method``, ``url.full`` (redacted
as in messages), ``server.address``/``server.port``, ``http.response.status_code``,
``http.request.resend_count`` from the second attempt on, ``commons.client.attempt`` (1, 2, ...),
``commons.client.retry_wait`` (seconds waited before it) and, on failure, ``error.type`` (the
status code, or the httpx exception's name) with an error status. The ``traceparent`` an attempt
sends is its own span's, so the called service's spans hang under the attempt that reached it.

When opentelemetry-instrumentation-httpx instruments the client (globally or this client's pool),
httpx makes the HTTP span: then the call keeps its INTERNAL span, makes no attempt span, and each
attempt is an event ``commons.client.attempt`` on the call span, with the same attributes. The
instrumentation is looked for only if something imported it: Commons never imports it.

Metrics, labelled by ``commons.client.service`` and ``commons.client.operation`` (bounded: the
generated client's service and operation ids) and nothing per request:

- ``commons.client.calls`` (counter) by ``commons.client.outcome``: ``ok``, ``client_error``
  (4xx), ``server_error`` (5xx), ``timeout``, ``connection_error``, ``invalid_response``;
- ``commons.client.errors`` (counter) by ``error.type``, the error's class
  (``NotFoundError``, ``APITimeoutError``, ...);
- ``commons.client.retries`` (counter) by ``error.type`` of the attempt retried (``503``,
  ``ConnectError``, ...);
- ``commons.client.call.duration`` (histogram, seconds, from the first attempt to the parsed
  answer, retries and waits included) by outcome.

Tracing costs nothing beyond one non-recording span per call while no SDK is configured (or the
call's trace is not sampled): no attempt spans, no attributes, no header rewritten.
"""

from __future__ import annotations

import sys
import time
from contextvars import Token
from types import TracebackType
from typing import Any

import httpx
from opentelemetry import context, metrics, propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode

from common_clients.__about__ import __version__
from common_clients._policies import Call
from common_clients._redact import redact_url
from common_clients.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    ResponseValidationError,
)

__all__ = ["ATTEMPT_EVENT", "AttemptTelemetry", "CallTelemetry"]

ATTEMPT_EVENT = "commons.client.attempt"
"""The event an attempt is on the call span when the httpx instrumentation makes the HTTP span."""

_tracer = trace.get_tracer("common_clients", __version__)
_meter = metrics.get_meter("common_clients", __version__)
_calls = _meter.create_counter(
    "commons.client.calls", unit="{call}", description="Client calls, by operation and outcome."
)
_errors = _meter.create_counter(
    "commons.client.errors",
    unit="{call}",
    description="Client calls that raised, by operation and error class.",
)
_retries = _meter.create_counter(
    "commons.client.retries",
    unit="{attempt}",
    description="Attempts retried, by operation and what the retried attempt got.",
)
_duration = _meter.create_histogram(
    "commons.client.call.duration",
    unit="s",
    description="Duration of client calls, retries and waits included, by operation and outcome.",
)

_INSTRUMENTATION_MODULE = "opentelemetry.instrumentation.httpx"


def httpx_instrumented(pool: httpx.Client | httpx.AsyncClient) -> bool:
    """Whether opentelemetry-instrumentation-httpx makes the HTTP spans of ``pool``'s requests.

    Its own markers: ``instrument_client`` sets ``_is_instrumented_by_opentelemetry`` on the
    client; ``HTTPXClientInstrumentor().instrument()`` sets the instrumentor's flag. Nobody can
    have instrumented httpx without importing the module, so it is never imported here.
    """
    if getattr(pool, "_is_instrumented_by_opentelemetry", False):
        return True
    module = sys.modules.get(_INSTRUMENTATION_MODULE)
    if module is None:
        return False
    return bool(module.HTTPXClientInstrumentor().is_instrumented_by_opentelemetry)


def _outcome(error: BaseException | None) -> str:
    if error is None:
        return "ok"
    if isinstance(error, APIStatusError):
        return "server_error" if error.status_code >= 500 else "client_error"
    if isinstance(error, APITimeoutError):
        return "timeout"
    if isinstance(error, APIConnectionError):
        return "connection_error"
    if isinstance(error, ResponseValidationError):
        return "invalid_response"
    return "error"  # an exception of the caller's own (a hook's, a cancellation)


class AttemptTelemetry:
    """The span (or, with the httpx instrumentation, the event) of one attempt of a call.

    A context manager around the attempt: the span is current inside it, so a token fetched by
    the client's ``auth`` on the way hangs under it; :meth:`sending`, :meth:`answered` and
    :meth:`failed` tell it what happened, and leaving it ends the span.
    """

    __slots__ = ("_attributes", "_call", "_span", "_token")

    def __init__(self, call: CallTelemetry, number: int, waited: float) -> None:
        self._call = call
        self._attributes: dict[str, Any] = {"commons.client.attempt": number + 1}
        if number:
            self._attributes["http.request.resend_count"] = number
            self._attributes["commons.client.retry_wait"] = waited
        self._span: trace.Span | None = None
        self._token: Token[Context] | None = None

    def __enter__(self) -> AttemptTelemetry:
        if not self._call.instrumented:
            self._span = _tracer.start_span(self._call.method, kind=SpanKind.CLIENT)
            self._token = context.attach(trace.set_span_in_context(self._span))
        return self

    def sending(self, request: httpx.Request) -> None:
        """``request`` is about to go: its URL on the span, this span's ``traceparent`` on it."""
        if self._span is None:
            return
        attributes = self._attributes
        attributes["http.request.method"] = request.method
        attributes["url.full"] = redact_url(request.url)
        url = request.url
        attributes["server.address"] = url.host
        attributes["server.port"] = url.port or (443 if url.scheme == "https" else 80)
        propagate.inject(request.headers)

    def answered(self, response: httpx.Response) -> None:
        """The attempt got ``response`` (any status)."""
        status = response.status_code
        self._attributes["http.response.status_code"] = status
        if status >= 400:
            self._attributes["error.type"] = str(status)

    def failed(self, error: BaseException) -> None:
        """The attempt got no response: ``error`` (an httpx exception, or a hook's own)."""
        self._attributes["error.type"] = type(error).__name__

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        attributes = self._attributes
        if error is not None and "error.type" not in attributes:
            attributes["error.type"] = type(error).__name__
        span = self._span
        if span is None:
            self._call.span.add_event(ATTEMPT_EVENT, attributes)
            return
        if self._token is not None:
            context.detach(self._token)
        span.set_attributes(attributes)
        failure = attributes.get("error.type")
        if failure is not None:
            span.set_status(Status(StatusCode.ERROR, str(failure)))
        span.end()


class CallTelemetry:
    """The span and metrics of one call; a context manager around the call, parsing included.

    With a recording span (an SDK configured, the trace sampled), :meth:`attempt` gives the
    attempt spans; otherwise only the metrics are recorded and attempts cost nothing.
    """

    __slots__ = (
        "_labels",
        "_request_id",
        "_started",
        "_token",
        "instrumented",
        "method",
        "recording",
        "span",
    )

    def __init__(
        self,
        service: str,
        call: Call,
        pool: httpx.Client | httpx.AsyncClient,
    ) -> None:
        operation = call.operation or call.method
        self._labels = {"commons.client.service": service, "commons.client.operation": operation}
        self.method = call.method
        self.span = _tracer.start_span(
            f"{service}.{operation}" if service else operation, kind=SpanKind.INTERNAL
        )
        self.recording = self.span.is_recording()
        self.instrumented = False
        self._token: Token[Context] | None = None
        self._request_id = call.request_id
        if self.recording:
            self.instrumented = httpx_instrumented(pool)
        self._started = 0.0

    def __enter__(self) -> CallTelemetry:
        if self.recording:
            self._token = context.attach(trace.set_span_in_context(self.span))
        self._started = time.perf_counter()
        return self

    def attempt(self, number: int, waited: float) -> AttemptTelemetry | None:
        """The telemetry of attempt ``number`` (0 first), after a wait of ``waited`` seconds;
        ``None`` when the call is not traced."""
        if not self.recording:
            return None
        return AttemptTelemetry(self, number, waited)

    def retried(self, failure: str) -> None:
        """An attempt that got ``failure`` (its ``error.type``: ``"503"``, ``"ConnectError"``)
        is tried again."""
        _retries.add(1, {**self._labels, "error.type": failure})

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        elapsed = time.perf_counter() - self._started
        outcome = _outcome(error)
        labels = {**self._labels, "commons.client.outcome": outcome}
        _calls.add(1, labels)
        _duration.record(elapsed, labels)
        if error is not None:
            _errors.add(1, {**self._labels, "error.type": type(error).__name__})
        if not self.recording:
            return
        if self._token is not None:
            context.detach(self._token)
        span = self.span
        attributes: dict[str, Any] = {
            **labels,
            "commons.request_id": self._request_id,
            "http.request.method": self.method,
        }
        if isinstance(error, APIStatusError):
            attributes["http.response.status_code"] = error.status_code
        if error is not None:
            attributes["error.type"] = type(error).__name__
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        span.set_attributes(attributes)
        span.end()
