"""Spans and metrics of client calls, through the OpenTelemetry API (with no SDK, nothing is kept).

Each attempt of a call is one CLIENT span, the HTTP span of the semantic conventions, started
under the caller's current span: a retried call is sibling spans under it. It is named
``{method} {url.template}`` when the client knows the operation's path template (a generated
client does: ``GET /api/users/{id}/``), else ``{method}``, and carries the call's
``commons.client.service``, ``commons.client.operation`` and ``commons.request_id``,
``url.template`` when known, and the attempt's ``http.request.method``, ``url.full`` (redacted as
in messages), ``server.address``/``server.port``, ``http.response.status_code``,
``http.request.resend_count`` from the second attempt on, ``commons.client.attempt`` (1, 2, ...),
``commons.client.retry_wait`` (seconds waited before it) and, on failure, ``error.type`` (the
status code, or the httpx exception's name) with an error status. The last attempt's span ends
with the call, its answer parsed: an answer that does not match its model marks it with
``error.type`` ``ResponseValidationError``. The ``traceparent`` an attempt sends is its own span's,
written once, so the called service's spans hang under the attempt that reached it.

When opentelemetry-instrumentation-httpx instruments the client (globally or this client's pool),
httpx makes the HTTP span: then the call is one span named after its operation
(``users.users_retrieve``), kind INTERNAL, around its attempts and the parsing of its answer, with
``commons.client.service``, ``commons.client.operation``, ``commons.client.outcome``,
``commons.request_id``, ``http.request.method`` and, on failure, ``error.type`` (the error's
class); each attempt is an event ``commons.client.attempt`` on it, with the attempt's attributes.
The instrumentation is looked for only if something imported it: Commons never imports it.

Metrics, labelled by ``commons.client.service`` and ``commons.client.operation`` (bounded: the
generated client's service and operation ids) and nothing per request:

- ``commons.client.call.duration`` (histogram, seconds, from the first attempt to the parsed
  answer, retries and waits included) by ``commons.client.outcome``: ``ok``, ``client_error``
  (4xx), ``server_error`` (5xx), ``timeout``, ``connection_error``, ``invalid_response``. Its
  count is the number of calls: calls per outcome are the histogram's count by outcome;
- ``commons.client.errors`` (counter) by ``error.type``, the error's class
  (``NotFoundError``, ``APITimeoutError``, ...);
- ``commons.client.retries`` (counter) by ``error.type`` of the attempt retried (``503``,
  ``ConnectError``, ...).

While no SDK is configured tracing costs a look at the global tracer provider per call: no span,
and the request context (``X-Request-ID``, the caller's ``traceparent``) goes out as
common-utils' ``outgoing_headers()`` makes it. A call whose trace is not sampled makes
non-recording attempt spans, which only write the ``traceparent``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from contextvars import Token
from types import TracebackType
from typing import Any

import httpx
from opentelemetry import context, metrics, propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import (
    NoOpTracerProvider,
    ProxyTracerProvider,
    SpanKind,
    Status,
    StatusCode,
)

from common_clients.__about__ import __version__
from common_clients._policies import Call
from common_clients._redact import redact_url
from common_clients.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    ResponseValidationError,
)

__all__ = [
    "ATTEMPT_EVENT",
    "AttemptTelemetry",
    "CallTelemetry",
    "attempt_spans",
    "httpx_instrumented",
    "records_spans",
]

ATTEMPT_EVENT = "commons.client.attempt"
"""The event an attempt is on the call span when the httpx instrumentation makes the HTTP span."""

_tracer = trace.get_tracer("common_clients", __version__)
_meter = metrics.get_meter("common_clients", __version__)
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
    description=(
        "Duration of client calls, retries and waits included, by operation and outcome;"
        " its count is the number of calls."
    ),
)

_INSTRUMENTATION_MODULE = "opentelemetry.instrumentation.httpx"
_SERVICE = "commons.client.service"
_OPERATION = "commons.client.operation"
_OUTCOME = "commons.client.outcome"

_provider_set: list[bool] = []


def records_spans() -> bool:
    """Whether a tracer provider that records spans (an SDK's) is set in this process.

    The global provider can be set only once, so a yes is kept; until then this is a look at it.
    """
    if _provider_set:
        return True
    if isinstance(trace.get_tracer_provider(), ProxyTracerProvider | NoOpTracerProvider):
        return False
    _provider_set.append(True)
    return True


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


def attempt_spans(pool: httpx.Client | httpx.AsyncClient) -> bool:
    """Whether each attempt of a call through ``pool`` is a span of Commons' own, which writes
    the ``traceparent`` the attempt sends: an SDK records spans and httpx's instrumentation
    does not make them."""
    return records_spans() and not httpx_instrumented(pool)


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


def _end(span: trace.Span, attributes: dict[str, Any]) -> None:
    """Set ``attributes`` on ``span`` in one go, mark it failed when they hold an ``error.type``,
    and end it."""
    span.set_attributes(attributes)
    failure = attributes.get("error.type")
    if failure is not None:
        span.set_status(Status(StatusCode.ERROR, str(failure)))
    span.end()


class AttemptTelemetry:
    """The span (or, with the httpx instrumentation, the event) of one attempt of a call.

    A context manager around the attempt: a recording span is current inside it, so a token
    fetched by the client's ``auth`` on the way hangs under it; :meth:`sending`, :meth:`answered`
    and :meth:`failed` tell it what happened. Leaving it ends the span, except after an answer
    that ends the call (a status below 400): that span ends with the call, once the answer is
    parsed (:class:`CallTelemetry`).
    """

    __slots__ = ("_attributes", "_call", "_context", "_span", "_token")

    def __init__(self, call: CallTelemetry, number: int, waited: float) -> None:
        self._call = call
        # What the span is given when it ends (with the httpx instrumentation: the event's).
        self._attributes: dict[str, Any] = {"commons.client.attempt": number + 1}
        if number:
            self._attributes["http.request.resend_count"] = number
            self._attributes["commons.client.retry_wait"] = waited
        self._span: trace.Span | None = None
        self._context: Context | None = None
        self._token: Token[Context] | None = None

    def __enter__(self) -> AttemptTelemetry:
        call = self._call
        if call.span is None:  # not an event on the call's span: a span of its own
            span = _tracer.start_span(
                call.span_name, kind=SpanKind.CLIENT, attributes=call.span_attributes
            )
            self._span = span
            self._context = trace.set_span_in_context(span)
            if span.is_recording():
                self._token = context.attach(self._context)
        return self

    def sending(self, request: httpx.Request) -> None:
        """``request`` is about to go: its URL on the span, this span's ``traceparent`` on it."""
        if self._span is None:
            return
        # The only trace context this request gets: the call's headers were made without one.
        propagate.inject(request.headers, context=self._context)
        if self._token is None:  # not recording
            return
        url = request.url
        attributes = self._attributes
        attributes["url.full"] = redact_url(url)
        attributes["server.address"] = url.host
        attributes["server.port"] = url.port or (443 if url.scheme == "https" else 80)

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
            call_span = self._call.span
            assert call_span is not None  # an attempt is either a span or an event on the call's
            call_span.add_event(ATTEMPT_EVENT, attributes)
            return
        if self._token is None:  # not recording: nothing to set
            span.end()
            return
        context.detach(self._token)
        if error is None and "error.type" not in attributes:
            self._call.last_attempt = (span, attributes)  # the call's answer: ends with the call
            return
        _end(span, attributes)


class CallTelemetry:
    """The spans and metrics of one call; a context manager around the call, parsing included.

    :meth:`attempt` gives each attempt's telemetry: its own span when the call's attempts are
    traced by Commons (``call.attempt_spans``), an event on the call's INTERNAL span when httpx's
    instrumentation makes the HTTP spans; ``None`` when no SDK records spans, and then only the
    metrics are recorded.
    """

    __slots__ = (
        "_operation",
        "_request_id",
        "_service",
        "_started",
        "_token",
        "last_attempt",
        "method",
        "span",
        "span_attributes",
        "span_name",
        "traced",
    )

    def __init__(
        self,
        service: str,
        call: Call,
        url_templates: Mapping[str, str],
    ) -> None:
        operation = call.operation or call.method
        self._service = service
        self._operation = operation
        self._request_id = call.request_id
        self.method = call.method
        # The call's INTERNAL span, with the httpx instrumentation (and a recorded trace) only.
        self.span: trace.Span | None = None
        self.span_name = ""
        self.span_attributes: dict[str, Any] = {}
        # The last attempt's span, when it got the call's answer: ended by the call.
        self.last_attempt: tuple[trace.Span, dict[str, Any]] | None = None
        self._token: Token[Context] | None = None
        self.traced = call.attempt_spans
        if call.attempt_spans:
            template = url_templates.get(call.operation) if call.operation else None
            self.span_name = f"{call.method} {template}" if template else call.method
            self.span_attributes = {
                _SERVICE: service,
                _OPERATION: operation,
                "commons.request_id": call.request_id,
                "http.request.method": call.method,
            }
            if template:
                self.span_attributes["url.template"] = template
        elif records_spans():
            span = _tracer.start_span(
                f"{service}.{operation}" if service else operation, kind=SpanKind.INTERNAL
            )
            if span.is_recording():
                self.span = span
                self.traced = True
        self._started = 0.0

    def __enter__(self) -> CallTelemetry:
        if self.span is not None:
            self._token = context.attach(trace.set_span_in_context(self.span))
        self._started = time.perf_counter()
        return self

    def attempt(self, number: int, waited: float) -> AttemptTelemetry | None:
        """The telemetry of attempt ``number`` (0 first), after a wait of ``waited`` seconds;
        ``None`` when the call is not traced."""
        if not self.traced:
            return None
        return AttemptTelemetry(self, number, waited)

    def retried(self, failure: str) -> None:
        """An attempt that got ``failure`` (its ``error.type``: ``"503"``, ``"ConnectError"``)
        is tried again."""
        _retries.add(
            1, {_SERVICE: self._service, _OPERATION: self._operation, "error.type": failure}
        )

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        elapsed = time.perf_counter() - self._started
        outcome = _outcome(error)
        labels = {_SERVICE: self._service, _OPERATION: self._operation, _OUTCOME: outcome}
        _duration.record(elapsed, labels)
        if error is not None:
            _errors.add(
                1,
                {
                    _SERVICE: self._service,
                    _OPERATION: self._operation,
                    "error.type": type(error).__name__,
                },
            )
        last = self.last_attempt
        if last is not None:
            attempt_span, attempt_attributes = last
            if error is not None:
                attempt_attributes["error.type"] = type(error).__name__
            _end(attempt_span, attempt_attributes)
            return
        span = self.span
        if span is None:
            return
        if self._token is not None:
            context.detach(self._token)
        attributes: dict[str, Any] = {
            **labels,
            "commons.request_id": self._request_id,
            "http.request.method": self.method,
        }
        if isinstance(error, APIStatusError):
            attributes["http.response.status_code"] = error.status_code
        if error is not None:
            attributes["error.type"] = type(error).__name__
        _end(span, attributes)
