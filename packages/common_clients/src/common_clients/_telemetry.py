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

With no tracer provider set (no SDK) a call starts no span at all: its headers carry the current
trace context (the caller's ``traceparent``) from common-utils' ``outgoing_headers()``, as a
client with ``telemetry = False`` does, and only the API's no-op histogram is called. With a
provider whose sampler leaves the call's trace out, an attempt's span does not record: it costs
the no-op span, and the request carries the current trace context, written once per attempt.
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
    "httpx_instrumented",
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
    fetched by the client's ``auth`` on the way hangs under it; :meth:`sending` writes the trace
    context into the request, :meth:`answered` and :meth:`failed` tell it what happened. Leaving
    it ends the span, except after an answer that ends the call (a status below 400): that span
    ends with the call, once the answer is parsed (:class:`CallTelemetry`).
    """

    __slots__ = ("_attributes", "_call", "_context", "_number", "_span", "_token", "_waited")

    def __init__(self, call: CallTelemetry, number: int, waited: float) -> None:
        self._call = call
        self._number = number
        self._waited = waited
        self._span: trace.Span | None = None
        # The context whose trace the request carries: this attempt's span's, else the current.
        self._context: Context | None = None
        self._token: Token[Context] | None = None
        # What the span (or the event) is given when the attempt ends; None: nothing records.
        self._attributes: dict[str, Any] | None = None

    def _attempt_attributes(self, into: dict[str, Any]) -> dict[str, Any]:
        number = self._number
        into["commons.client.attempt"] = number + 1
        if number:
            into["http.request.resend_count"] = number
            into["commons.client.retry_wait"] = self._waited
        return into

    def __enter__(self) -> AttemptTelemetry:
        call = self._call
        if call.span is not None:  # an event on the call's span
            self._attributes = self._attempt_attributes({})
        elif not call.instrumented:  # a span of its own
            span = _tracer.start_span(call.span_name, kind=SpanKind.CLIENT)
            # A span that does not record (no SDK, or not sampled) has nothing to set or end.
            if span.is_recording():
                self._span = span
                self._context = trace.set_span_in_context(span)
                self._token = context.attach(self._context)
                self._attributes = self._attempt_attributes(call.span_attributes())
        return self

    def sending(self, request: httpx.Request) -> None:
        """``request`` is about to go: the trace context on it (the only one: the call's headers
        were made without), and its URL on the span."""
        propagate.inject(request.headers, context=self._context)
        if self._span is None:
            return
        url = request.url
        attributes = self._attributes
        assert attributes is not None  # a recording span has its attributes
        attributes["url.full"] = redact_url(url)
        attributes["server.address"] = url.host
        attributes["server.port"] = url.port or (443 if url.scheme == "https" else 80)

    def answered(self, response: httpx.Response) -> None:
        """The attempt got ``response`` (any status)."""
        attributes = self._attributes
        if attributes is None:
            return
        status = response.status_code
        attributes["http.response.status_code"] = status
        if status >= 400:
            attributes["error.type"] = str(status)

    def failed(self, error: BaseException) -> None:
        """The attempt got no response: ``error`` (an httpx exception, or a hook's own)."""
        if self._attributes is not None:
            self._attributes["error.type"] = type(error).__name__

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        attributes = self._attributes
        if attributes is None:
            return
        if error is not None and "error.type" not in attributes:
            attributes["error.type"] = type(error).__name__
        span = self._span
        if span is None:
            call_span = self._call.span
            assert call_span is not None  # attributes without a span of its own: an event
            call_span.add_event(ATTEMPT_EVENT, attributes)
            return
        if self._token is not None:
            context.detach(self._token)
        if error is None and "error.type" not in attributes:
            self._call.last_attempt = (span, attributes)  # the call's answer: ends with the call
            return
        _end(span, attributes)


class CallTelemetry:
    """The spans and metrics of one call; a context manager around the call, parsing included.

    :meth:`attempt` gives each attempt's telemetry: its own CLIENT span, or with httpx's
    instrumentation on an event on the call's INTERNAL span; either writes the attempt's trace
    context. The metrics are recorded when the call ends.
    """

    __slots__ = (
        "_operation",
        "_request_id",
        "_service",
        "_started",
        "_template",
        "_token",
        "instrumented",
        "last_attempt",
        "method",
        "span",
        "span_name",
        "traces",
    )

    def __init__(
        self,
        service: str,
        call: Call,
        pool: httpx.Client | httpx.AsyncClient,
        url_templates: Mapping[str, str],
    ) -> None:
        operation = call.operation or call.method
        self._service = service
        self._operation = operation
        self._request_id = call.request_id
        self.method = call.method
        # The call's INTERNAL span: with the httpx instrumentation, when its trace is recorded.
        self.span: trace.Span | None = None
        # The last attempt's span, when it got the call's answer: ended by the call.
        self.last_attempt: tuple[trace.Span, dict[str, Any]] | None = None
        self._token: Token[Context] | None = None
        self._template: str | None = None
        # Whether its attempts trace (write the trace context themselves): a provider is set.
        self.traces = call.traced_attempts
        self.instrumented = self.traces and httpx_instrumented(pool)
        self.span_name = ""
        if not self.traces:
            pass
        elif self.instrumented:
            self.span_name = f"{service}.{operation}" if service else operation
            span = _tracer.start_span(self.span_name, kind=SpanKind.INTERNAL)
            if span.is_recording():
                self.span = span
        else:
            template = url_templates.get(call.operation) if call.operation else None
            self._template = template
            self.span_name = f"{call.method} {template}" if template else call.method
        self._started = 0.0

    def span_attributes(self) -> dict[str, Any]:
        """A new dict of what each attempt's span carries of the call."""
        attributes: dict[str, Any] = {
            _SERVICE: self._service,
            _OPERATION: self._operation,
            "commons.request_id": self._request_id,
            "http.request.method": self.method,
        }
        if self._template:
            attributes["url.template"] = self._template
        return attributes

    def __enter__(self) -> CallTelemetry:
        if self.span is not None:
            self._token = context.attach(trace.set_span_in_context(self.span))
        self._started = time.perf_counter()
        return self

    def attempt(self, number: int, waited: float) -> AttemptTelemetry | None:
        """The telemetry of attempt ``number`` (0 first), after a wait of ``waited`` seconds;
        ``None`` when the call does not trace (no tracer provider: nothing would record)."""
        if not self.traces:
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
