"""The request-context middleware: one request id, trace context and server span per request.

Takes ``X-Request-ID`` (or makes one) and the caller's trace context (OpenTelemetry's propagator,
W3C ``traceparent`` by default), opens a SERVER span for the request (``GET /orders/<int:pk>/``,
HTTP semantic-convention attributes), makes both current for the view (contextvars, sync and
async), echoes ``X-Request-ID`` on the response, and scopes the router's read-after-write pinning
to the request. With OpenTelemetry's Django instrumentation on, its span is the request's: the
middleware adds ``commons.request_id`` to it and opens none of its own. An error response
(4xx/5xx) that no one logged yet gets Django's ``django.request`` line here, while the request id
is still current: Django would write it after the middleware returned, without the id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase
from django.utils.log import log_response
from opentelemetry import trace
from opentelemetry.trace import INVALID_SPAN, Span, SpanKind, Status, StatusCode

from common_utils import _tracing
from common_utils._context import (
    REQUEST_ID_HEADER,
    TRACEPARENT_HEADER,
    RequestContext,
    lenient_request_context,
    use_request_context,
)
from common_utils.django._router import pinning_scope

REQUEST_ID_ATTRIBUTE = "commons.request_id"
_REQUEST_ID_META = "HTTP_" + REQUEST_ID_HEADER.upper().replace("-", "_")
_TRACEPARENT_META = "HTTP_" + TRACEPARENT_HEADER.upper().replace("-", "_")

# The methods HTTP semantic conventions name; any other is reported as ``_OTHER``.
_KNOWN_METHODS = frozenset(
    ("CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE", "QUERY")
)


def _request_attributes(request: HttpRequest, method: str) -> dict[str, Any]:
    """The HTTP server span attributes known before the view runs (semantic conventions)."""
    meta = request.META
    attributes: dict[str, Any] = {
        "http.request.method": method,
        "url.scheme": request.scheme or "http",
        "url.path": request.path,
    }
    if method == "_OTHER":
        attributes["http.request.method_original"] = request.method or ""
    if meta.get("QUERY_STRING"):
        attributes["url.query"] = meta["QUERY_STRING"]
    host = str(meta.get("HTTP_HOST") or meta.get("SERVER_NAME") or "")
    name, colon, port = host.rpartition(":")
    if colon and port.isdigit():
        attributes["server.address"] = name
        attributes["server.port"] = int(port)
    elif host:
        attributes["server.address"] = host
    if meta.get("REMOTE_ADDR"):
        attributes["client.address"] = meta["REMOTE_ADDR"]
    if meta.get("HTTP_USER_AGENT"):
        attributes["user_agent.original"] = meta["HTTP_USER_AGENT"]
    protocol = str(meta.get("SERVER_PROTOCOL", ""))
    if protocol.startswith("HTTP/"):
        attributes["network.protocol.version"] = protocol.removeprefix("HTTP/")
    return attributes


def _route(request: HttpRequest) -> str | None:
    """The URL pattern that matched (``/orders/<int:pk>/``), if any."""
    route = getattr(getattr(request, "resolver_match", None), "route", None)
    if not isinstance(route, str) or not route:
        return None
    return route if route.startswith("/") else f"/{route}"


class _RequestSpan:
    """The request's span and context: opened before the view, named and ended from its answer.

    Ours unless OpenTelemetry's Django instrumentation is on; then its span (current, since its
    middleware puts itself first) gets our attribute and is ended by it. Without an SDK no span
    is opened at all (it would record nothing): the caller's trace context passes through.
    """

    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self.own = not _tracing.is_instrumented("django")
        method = (request.method or "").upper()
        self.method = method if method in _KNOWN_METHODS else "_OTHER"
        # META, not request.headers: that builds a dict of every header, a third of what the
        # middleware cost per request.
        meta = request.META
        parent = _tracing.extract_from_meta(meta) if self.own else None
        checked = lenient_request_context(
            request_id=meta.get(_REQUEST_ID_META) or None,
            # Given only to have a bad one logged: the propagator ignored it (a new trace).
            traceparent=(meta.get(_TRACEPARENT_META) or None)
            if self.own and parent is None
            else None,
            source="the request headers",
        )
        request_id = checked.request_id
        trace_context = parent
        if not self.own:
            self.span: Span = trace.get_current_span()
            if self.span.is_recording():
                self.span.set_attribute(REQUEST_ID_ATTRIBUTE, request_id)
        elif _tracing.records_spans():
            attributes = _request_attributes(request, self.method)
            attributes[REQUEST_ID_ATTRIBUTE] = request_id
            self.span = _tracing.tracer.start_span(
                self.method, context=parent, kind=SpanKind.SERVER, attributes=attributes
            )
            trace_context = trace.set_span_in_context(self.span, parent)
        else:
            self.span = INVALID_SPAN
        self.context = RequestContext(request_id=request_id, trace_context=trace_context)

    def end(self, response: HttpResponseBase | None, error: BaseException | None = None) -> None:
        """Name the span from the route, record the outcome, and end the span if it is ours."""
        span = self.span
        if not span.is_recording():
            return
        attributes: dict[str, Any] = {}
        if self.own:
            route = _route(self.request)
            if route is not None:
                span.update_name(f"{self.method} {route}")
                attributes["http.route"] = route
            if response is not None:
                attributes["http.response.status_code"] = response.status_code
                if response.status_code >= 500:
                    attributes["error.type"] = str(response.status_code)
                    span.set_status(Status(StatusCode.ERROR))
        if error is not None:
            span.record_exception(error)
            attributes["error.type"] = type(error).__qualname__
            span.set_status(Status(StatusCode.ERROR, type(error).__qualname__))
        if attributes:
            span.set_attributes(attributes)
        if self.own:
            span.end()


def _log_error_response(request: HttpRequest, response: HttpResponseBase) -> None:
    """Django's line for an error response, written while the request context is current.

    ``log_response`` marks the response as logged, so Django's handler does not repeat it.
    """
    if response.status_code >= 400:
        # Django passes every response here (streaming ones too); the stubs say HttpResponse.
        log_response(
            "%s: %s",
            response.reason_phrase,
            request.path,
            response=response,  # type: ignore[arg-type]
            request=request,
        )


class RequestContextMiddleware:
    """Make the caller's request id and trace context, and the request's span, current while the
    request is handled.

    Put it first in ``MIDDLEWARE``, so that every log line of the request carries the id and the
    span covers the other middleware too.
    """

    sync_capable = True
    async_capable = True

    def __init__(
        self,
        get_response: Callable[[HttpRequest], HttpResponseBase]
        | Callable[[HttpRequest], Awaitable[HttpResponseBase]],
    ) -> None:
        self.get_response = get_response
        self._is_async = iscoroutinefunction(get_response)
        if self._is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        """Handle the request inside its context (a coroutine when the chain is async)."""
        if self._is_async:
            return self.__acall__(request)
        handling = _RequestSpan(request)
        try:
            with use_request_context(handling.context), pinning_scope():
                response: HttpResponseBase = self.get_response(request)  # type: ignore[assignment]
                _log_error_response(request, response)
        except BaseException as exc:
            handling.end(None, exc)
            raise
        handling.end(response)
        response[REQUEST_ID_HEADER] = handling.context.request_id
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        """The async path of ``__call__``."""
        handling = _RequestSpan(request)
        try:
            with use_request_context(handling.context), pinning_scope():
                response: HttpResponseBase = await self.get_response(request)  # type: ignore[misc]
                _log_error_response(request, response)
        except BaseException as exc:
            handling.end(None, exc)
            raise
        handling.end(response)
        response[REQUEST_ID_HEADER] = handling.context.request_id
        return response
