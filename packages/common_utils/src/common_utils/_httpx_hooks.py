"""httpx event hooks that put the current request id and trace context on outgoing requests.

The trace context is written by OpenTelemetry's propagator (``outgoing_headers()``). With
OpenTelemetry's httpx instrumentation on, its client span is written over it when the request is
sent, so the callee's parent is that span: still one trace, and no second span from here.

httpx is not a dependency of common-utils: it is only named for type checking, so importing this
module (and ``common_utils``) never imports httpx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from common_utils._context import outgoing_headers

if TYPE_CHECKING:
    import httpx


def _add_context_headers(request: httpx.Request) -> None:
    for name, value in outgoing_headers().items():
        # A header the caller set on purpose wins over the ambient context.
        if name not in request.headers:
            request.headers[name] = value


def httpx_request_hook(request: httpx.Request) -> None:
    """Add ``X-Request-ID`` and the trace context to a request (``httpx.Client`` event hook).

    Use as ``httpx.Client(event_hooks={"request": [httpx_request_hook]})``.
    """
    _add_context_headers(request)


async def async_httpx_request_hook(request: httpx.Request) -> None:
    """Add ``X-Request-ID`` and the trace context to a request (``httpx.AsyncClient`` event hook).

    Use as ``httpx.AsyncClient(event_hooks={"request": [async_httpx_request_hook]})``.
    """
    _add_context_headers(request)
