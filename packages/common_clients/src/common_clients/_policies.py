"""The small steps every call goes through around its one ``send``, one class per concern.

A call is a :class:`Call` (operation, request id, idempotency key: fixed for all its attempts).
Header steps (:class:`UserAgentPolicy`, :class:`RequestIdPolicy`, :class:`IdempotencyKeyPolicy`)
add what they own to the outgoing headers; :class:`ErrorMappingPolicy` turns httpx exceptions and
error statuses into :mod:`common_clients.errors`. Retrying is ``_retry.RetryPolicy``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

import httpx

from common_clients.__about__ import __version__
from common_clients._redact import redact_url, redact_urls_in
from common_clients._retry import IDEMPOTENCY_KEY_HEADER
from common_clients.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from common_utils import outgoing_headers

__all__ = [
    "REQUEST_ID_HEADER",
    "Call",
    "ErrorMappingPolicy",
    "HeaderPolicy",
    "IdempotencyKeyPolicy",
    "RequestIdPolicy",
    "UserAgentPolicy",
    "apply_header_policies",
    "error_body",
    "new_call",
]

REQUEST_ID_HEADER = "X-Request-ID"


class Call(NamedTuple):
    """One logical call: what stays the same across its retries.

    ``traced_attempts``: each attempt writes the trace context (``traceparent``) it sends, its
    own span's when that records (the client's telemetry, ``_telemetry``), so the call's headers
    are made without one.
    """

    method: str
    operation: str | None
    request_id: str
    idempotency_key: str | None
    traced_attempts: bool = False


class HeaderPolicy(Protocol):
    """A step that adds the headers it owns to a call's outgoing headers."""

    def apply(self, headers: dict[str, str], call: Call) -> None:
        """Add or keep headers for ``call``; headers the caller set explicitly win."""


class UserAgentPolicy:
    """``User-Agent: common-clients/<version> <service>``, so a service's logs say who called.

    The same for every call, so the client applies it once, to the connection's default headers.
    """

    def __init__(self, service: str) -> None:
        self.value = f"common-clients/{__version__} {service}".rstrip()

    def apply(self, headers: dict[str, str], call: Call | None = None) -> None:
        headers.setdefault("User-Agent", self.value)


class RequestIdPolicy:
    """The current request id and ``traceparent`` (common-utils' context), or the call's own id.

    Inside a request context the id of the request being served travels on; outside one each call
    gets a fresh id, so that every request can be found in the called service's logs. The call's
    id is the context's when there is one (:func:`new_call`), so when each attempt writes the
    ``traceparent`` (``call.traced_attempts``) the id alone is added here.
    """

    def apply(self, headers: dict[str, str], call: Call) -> None:
        if not call.traced_attempts:
            for name, value in outgoing_headers().items():
                headers.setdefault(name, value)
        headers.setdefault(REQUEST_ID_HEADER, call.request_id)


class IdempotencyKeyPolicy:
    """``Idempotency-Key`` when the call has one; with it, unsafe methods may be retried."""

    def apply(self, headers: dict[str, str], call: Call) -> None:
        if call.idempotency_key is not None:
            headers.setdefault(IDEMPOTENCY_KEY_HEADER, call.idempotency_key)


def apply_header_policies(
    policies: Sequence[HeaderPolicy], headers: dict[str, str], call: Call
) -> dict[str, str]:
    """``headers`` after every policy has added its own."""
    for policy in policies:
        policy.apply(headers, call)
    return headers


def _random_id() -> str:
    """32 random hex digits (as unique as a UUID4, a few times cheaper to make)."""
    return os.urandom(16).hex()


def new_call(
    method: str,
    operation: str | None,
    idempotency_key: str | bool,
    request_id: str | None,
    *,
    traced_attempts: bool = False,
) -> Call:
    """A :class:`Call`, with an idempotency key generated when asked for (``True``) and a fresh
    request id when ``request_id`` (the current context's) is ``None``."""
    key = _random_id() if idempotency_key is True else (idempotency_key or None)
    return Call(
        method=method,
        operation=operation,
        request_id=request_id or _random_id(),
        idempotency_key=key,
        traced_attempts=traced_attempts,
    )


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


class ErrorMappingPolicy:
    """httpx exceptions and error statuses as :mod:`common_clients.errors`, with their context."""

    def transport_error(
        self, exc: Exception, request: httpx.Request | None, call: Call
    ) -> ClientError:
        """The error for an exception raised while sending (httpx's, or a hook's own).

        The message shows the URL redacted, and so does every URL inside httpx's own message (a
        hook's ``raise_for_status`` names the full URL); ``request`` keeps the real one.
        """
        if isinstance(exc, ClientError):
            return exc
        kind = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
        where = f" calling {call.method} {redact_url(request.url)}" if request is not None else ""
        detail = redact_urls_in(str(exc))
        return kind(
            f"{type(exc).__name__}{where}: {detail}" if detail else f"{type(exc).__name__}{where}",
            request=request,
            operation=call.operation,
            request_id=call.request_id,
        )

    def status_error(self, response: httpx.Response, call: Call) -> APIStatusError:
        """The error for a response with a 4xx/5xx status (its body read and parsed)."""
        status = response.status_code
        kind = InternalServerError if status >= 500 else _STATUS_ERRORS.get(status, APIStatusError)
        body = error_body(response)
        reason = response.reason_phrase or "error"
        error = kind(
            f"{status} {reason} from {call.method} {redact_url(response.request.url)}",
            response=response,
            body=body,
            operation=call.operation,
            request_id=response.headers.get(REQUEST_ID_HEADER) or call.request_id,
        )
        said = error.detail or error.title
        if error.type is not None and error.type != "about:blank":
            said = f"{error.type.rsplit('/', 1)[-1]}: {said}" if said else error.type
        if said:
            error.message = f"{error.message}: {said}"
            error.args = (error.message,)
        return error


def error_body(response: httpx.Response) -> Any:
    """An error response's body: its JSON when it is JSON (``application/json``,
    ``application/problem+json``), else its text (``None`` when empty)."""
    content = response.content
    if not content:
        return None
    if "json" in response.headers.get("content-type", ""):
        try:
            return json.loads(content)
        except ValueError:
            pass
    return response.text
