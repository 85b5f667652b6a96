"""The errors a common-clients call raises: one tree, rooted at :class:`ClientError`.

::

    ClientError                      anything a client call raises
    ├── APIConnectionError           no response: refused, reset, DNS, TLS, protocol error
    │   └── APITimeoutError          a connect, read, write or pool timeout
    ├── APIStatusError               a response with a 4xx/5xx status (any status not listed below)
    │   ├── BadRequestError          400
    │   ├── AuthenticationError      401
    │   ├── PermissionDeniedError    403
    │   ├── NotFoundError            404
    │   ├── ConflictError            409
    │   ├── UnprocessableEntityError 422
    │   ├── RateLimitError           429
    │   └── InternalServerError      5xx
    └── ResponseValidationError      a 2xx body that does not match the operation's model
        └── ResponseDecodeError      a 2xx body that is not JSON, or not of the promised media type

Every error carries the ``operation`` (the operationId, e.g. ``"users_retrieve"``) and the
``request_id`` the call travelled with; status errors also carry the ``status_code``, the parsed
error ``body`` (JSON when the server sent JSON, else text) and the :class:`httpx.Response`, and
read an RFC 9457 problem details body (``application/problem+json``, what the Commons services
answer) into ``type``, ``title``, ``detail``, ``instance`` and ``extensions`` (every other member,
e.g. ``errors`` of a validation problem, ``request_id``); branch on ``type``::

    except PermissionDeniedError as exc:
        if exc.type == "https://commons.invalid/problems/insufficient_scope": ...
httpx's own exceptions never escape a client: they are mapped to this tree, with the original as
``__cause__``. Messages never include request headers or bodies (which may hold credentials), and
show URLs without userinfo and with every query value as ``***`` (``?page=***&access_token=***``);
``request`` / ``response`` keep the real URL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientError",
    "ConflictError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseDecodeError",
    "ResponseValidationError",
    "UnprocessableEntityError",
]


class ClientError(Exception):
    """The root of every error a common-clients call raises."""

    def __init__(
        self, message: str, *, operation: str | None = None, request_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.operation = operation
        self.request_id = request_id

    def __str__(self) -> str:
        context = [
            f"{label}={value}"
            for label, value in (("operation", self.operation), ("request_id", self.request_id))
            if value
        ]
        return f"{self.message} ({', '.join(context)})" if context else self.message


class APIConnectionError(ClientError):
    """No response arrived: the connection was refused, reset or broke mid-response."""

    def __init__(
        self,
        message: str,
        *,
        request: httpx.Request | None = None,
        operation: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, operation=operation, request_id=request_id)
        self.request = request


class APITimeoutError(APIConnectionError):
    """A phase of the request (connect, write, read, waiting for a pooled connection) timed out."""


_PROBLEM_MEMBERS = ("type", "title", "status", "detail", "instance")


class APIStatusError(ClientError):
    """The server answered with an error status; ``body`` is its parsed error document.

    When the body is problem details (RFC 9457, ``application/problem+json``): ``type`` (``"about:
    blank"`` when the document names none), ``title``, ``detail``, ``instance`` and
    ``extensions`` hold its members (a member of the wrong JSON type is ignored, as the RFC
    asks); otherwise they are ``None`` and ``{}``, and ``detail`` is a JSON body's ``detail``
    string if it has one.
    """

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        body: Any,
        operation: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, operation=operation, request_id=request_id)
        self.response = response
        self.status_code = response.status_code
        self.body = body
        self.type: str | None = None
        self.title: str | None = None
        self.detail: str | None = None
        self.instance: str | None = None
        self.extensions: dict[str, Any] = {}
        if not isinstance(body, dict):
            return
        if _is_problem_response(response):
            self.type = _string(body, "type") or "about:blank"
            self.title = _string(body, "title")
            self.instance = _string(body, "instance")
            self.extensions = {k: v for k, v in body.items() if k not in _PROBLEM_MEMBERS}
        self.detail = _string(body, "detail")

    @property
    def is_problem(self) -> bool:
        """Whether the body was problem details (RFC 9457)."""
        return self.type is not None


def _is_problem_response(response: httpx.Response) -> bool:
    """Whether a response's media type is ``application/problem+json``."""
    media_type = str(response.headers.get("content-type", "")).partition(";")[0].strip().lower()
    return media_type == "application/problem+json"


def _string(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    return value if isinstance(value, str) else None


class BadRequestError(APIStatusError):
    """400: the request was invalid (for DRF, ``body`` maps field names to their messages)."""


class AuthenticationError(APIStatusError):
    """401: no credentials, or credentials the service did not accept."""


class PermissionDeniedError(APIStatusError):
    """403: the credentials are valid but lack the permission or scope the operation needs."""


class NotFoundError(APIStatusError):
    """404: the resource does not exist (or is hidden from these credentials)."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the resource's current state."""


class UnprocessableEntityError(APIStatusError):
    """422: the request was well-formed but semantically invalid."""


class RateLimitError(APIStatusError):
    """429: too many requests; the policy has already retried as far as it was allowed to."""


class InternalServerError(APIStatusError):
    """5xx: the service failed (or a proxy in front of it did)."""


class ResponseValidationError(ClientError):
    """A successful response whose body does not match the model the operation promises.

    ``errors`` lists every mismatch as ``(field_path, message)``; ``field_path`` is the first one,
    dotted (``"results.3.email"``), ``""`` for the body as a whole.
    """

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        errors: Sequence[tuple[str, str]] = (),
        operation: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, operation=operation, request_id=request_id)
        self.response = response
        self.status_code = response.status_code
        self.errors = tuple(errors)
        self.field_path = self.errors[0][0] if self.errors else ""


class ResponseDecodeError(ResponseValidationError):
    """A successful response whose body is not JSON, or whose media type is not the one promised."""
