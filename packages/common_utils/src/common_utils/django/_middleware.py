"""The request-context middleware: one request id and trace context per request.

Takes ``X-Request-ID`` (or makes one) and the W3C ``traceparent`` from the request, makes them
current for the view (contextvars, sync and async), echoes ``X-Request-ID`` on the response, and
scopes the router's read-after-write pinning to the request. An error response (4xx/5xx) that no
one logged yet gets Django's ``django.request`` line here, while the request id is still current:
Django would write it after the middleware returned, without the id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase
from django.utils.log import log_response

from common_utils._context import (
    REQUEST_ID_HEADER,
    TRACEPARENT_HEADER,
    RequestContext,
    lenient_request_context,
    use_request_context,
)
from common_utils.django._router import pinning_scope


def _context_from(request: HttpRequest) -> RequestContext:
    return lenient_request_context(
        request_id=request.headers.get(REQUEST_ID_HEADER) or None,
        traceparent=request.headers.get(TRACEPARENT_HEADER) or None,
        source="the request headers",
    )


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
    """Make the caller's request id and trace context current while the request is handled.

    Put it first in ``MIDDLEWARE`` so that every log line of the request carries the id.
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
        ctx = _context_from(request)
        with use_request_context(ctx), pinning_scope():
            response: HttpResponseBase = self.get_response(request)  # type: ignore[assignment]
            _log_error_response(request, response)
        response[REQUEST_ID_HEADER] = ctx.request_id
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        """The async path of ``__call__``."""
        ctx = _context_from(request)
        with use_request_context(ctx), pinning_scope():
            response: HttpResponseBase = await self.get_response(request)  # type: ignore[misc]
            _log_error_response(request, response)
        response[REQUEST_ID_HEADER] = ctx.request_id
        return response
