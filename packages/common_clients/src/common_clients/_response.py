"""Reading a successful response into its model, and raw access to the httpx response.

:func:`parse_response` checks the media type, decodes and validates the body in one step (pydantic
parses JSON bytes straight into the model) and reports any mismatch as a
:class:`~common_clients.errors.ResponseValidationError` naming the operation and field path.

Raw access follows openai-python: ``client.pets.with_raw_response.retrieve(id=1)`` (or
``client.with_raw_response.pets.retrieve(id=1)``) makes the same call and returns a
:class:`RawResponse` holding both the parsed model and the :class:`httpx.Response`. The wrapper
opens a capture slot in a context variable; the runtime drops every response of the call into it,
so the last one (after any retries) is the one returned, in threads and in tasks alike.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Concatenate, Generic, Literal, ParamSpec, TypeAlias, TypeVar

import httpx
import pydantic

from common_clients._policies import REQUEST_ID_HEADER, Call
from common_clients._redact import redact_url
from common_clients.errors import ResponseDecodeError, ResponseValidationError

__all__ = [
    "AsyncRawMethod",
    "Expect",
    "RawMethod",
    "RawResponse",
    "capture_response",
    "parse_response",
    "to_async_raw_response",
    "to_raw_response",
]

_T = TypeVar("_T")
_R = TypeVar("_R")
_P = ParamSpec("_P")

Expect: TypeAlias = Literal["json", "bytes", "text", "none"]
"""What a successful body is: JSON validated against a type, a download, plain text, or nothing."""


@dataclass(frozen=True, slots=True, repr=False)
class RawResponse(Generic[_T]):
    """A call's parsed result beside the :class:`httpx.Response` it came from."""

    parsed: _T
    http_response: httpx.Response

    def __repr__(self) -> str:
        # The URL redacted (the response's request keeps it whole); a response built by hand
        # may have no request at all.
        response = self.http_response
        try:
            request = f", request='{response.request.method} {redact_url(response.request.url)}'"
        except RuntimeError:
            request = ""
        return f"RawResponse(status_code={response.status_code}{request}, parsed={self.parsed!r})"

    @property
    def status_code(self) -> int:
        return self.http_response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.http_response.headers

    @property
    def request_id(self) -> str | None:
        """The request id the service answered with (or the one the call was sent with)."""
        answered: str | None = self.http_response.headers.get(REQUEST_ID_HEADER)
        return answered or self.http_response.request.headers.get(REQUEST_ID_HEADER)


_capture: ContextVar[list[httpx.Response] | None] = ContextVar(
    "common_clients_raw_response", default=None
)


def capture_response(response: httpx.Response) -> None:
    """Hand ``response`` to a :func:`to_raw_response` wrapper waiting for it, if any."""
    slot = _capture.get()
    if slot is not None:
        slot.append(response)


def _raw(slot: list[httpx.Response], parsed: _T) -> RawResponse[_T]:
    if not slot:  # pragma: no cover - every runtime call captures before returning
        raise RuntimeError("no response was captured for this call")
    return RawResponse(parsed=parsed, http_response=slot[-1])


def to_raw_response(method: Callable[_P, _T]) -> Callable[_P, RawResponse[_T]]:
    """``method`` (a generated operation) returning a :class:`RawResponse` of its result."""

    @functools.wraps(method)
    def call(*args: _P.args, **kwargs: _P.kwargs) -> RawResponse[_T]:
        slot: list[httpx.Response] = []
        token = _capture.set(slot)
        try:
            parsed = method(*args, **kwargs)
        finally:
            _capture.reset(token)
        return _raw(slot, parsed)

    return call


def to_async_raw_response(
    method: Callable[_P, Awaitable[_T]],
) -> Callable[_P, Awaitable[RawResponse[_T]]]:
    """``method`` (a generated async operation) returning a :class:`RawResponse` of its result."""

    @functools.wraps(method)
    async def call(*args: _P.args, **kwargs: _P.kwargs) -> RawResponse[_T]:
        slot: list[httpx.Response] = []
        token = _capture.set(slot)
        try:
            parsed = await method(*args, **kwargs)
        finally:
            _capture.reset(token)
        return _raw(slot, parsed)

    return call


class RawMethod(Generic[_R, _P, _T]):
    """A resource method as seen from its ``...WithRawResponse`` class: returns a ``RawResponse``.

    Generated code: ``class PetsWithRawResponse: retrieve = RawMethod(Pets.retrieve)``, where the
    raw class keeps its resource as ``_resource``; one line per operation, however many there are.
    """

    def __init__(self, method: Callable[Concatenate[_R, _P], _T]) -> None:
        self._method = method

    def __get__(self, instance: Any, owner: type | None = None) -> Callable[_P, RawResponse[_T]]:
        method = self._method
        resource: _R = instance._resource

        @functools.wraps(method)
        def call(*args: _P.args, **kwargs: _P.kwargs) -> RawResponse[_T]:
            slot: list[httpx.Response] = []
            token = _capture.set(slot)
            try:
                parsed = method(resource, *args, **kwargs)
            finally:
                _capture.reset(token)
            return _raw(slot, parsed)

        return call


class AsyncRawMethod(Generic[_R, _P, _T]):
    """:class:`RawMethod` for async resource methods (and for list calls returning a pager)."""

    def __init__(self, method: Callable[Concatenate[_R, _P], Awaitable[_T]]) -> None:
        self._method = method

    def __get__(
        self, instance: Any, owner: type | None = None
    ) -> Callable[_P, Awaitable[RawResponse[_T]]]:
        method = self._method
        resource: _R = instance._resource

        @functools.wraps(method)
        async def call(*args: _P.args, **kwargs: _P.kwargs) -> RawResponse[_T]:
            slot: list[httpx.Response] = []
            token = _capture.set(slot)
            try:
                parsed = await method(resource, *args, **kwargs)
            finally:
                _capture.reset(token)
            return _raw(slot, parsed)

        return call


@functools.lru_cache(maxsize=512)
def _adapter(annotation: Any) -> pydantic.TypeAdapter[Any]:
    return pydantic.TypeAdapter(annotation)


def _validation_errors(error: pydantic.ValidationError) -> list[tuple[str, str]]:
    return [
        (".".join(str(part) for part in item["loc"]), item["msg"])
        for item in error.errors(include_url=False, include_input=False)
    ]


def parse_response(response: httpx.Response, cast_to: Any, call: Call, expect: Expect) -> Any:
    """The body of a successful ``response`` as ``cast_to`` (for ``expect="json"``)."""
    if expect == "none" or response.status_code == 204:
        return None
    if expect == "bytes":
        return response.content
    if expect == "text":
        return response.text
    content_type = response.headers.get("content-type", "")
    if "json" not in content_type:
        request_id = response.headers.get(REQUEST_ID_HEADER) or call.request_id
        raise ResponseDecodeError(
            f"expected a JSON body from {call.method} {redact_url(response.request.url)},"
            f" got {content_type or 'no content type'}",
            response=response,
            operation=call.operation,
            request_id=request_id,
        )
    try:
        if isinstance(cast_to, type) and issubclass(cast_to, pydantic.BaseModel):
            return cast_to.model_validate_json(response.content)
        return _adapter(cast_to).validate_json(response.content)
    except pydantic.ValidationError as exc:
        request_id = response.headers.get(REQUEST_ID_HEADER) or call.request_id
        errors = _validation_errors(exc)
        if any(item["type"] == "json_invalid" for item in exc.errors(include_url=False)):
            raise ResponseDecodeError(
                f"malformed JSON from {call.method} {redact_url(response.request.url)}:"
                f" {errors[0][1]}",
                response=response,
                errors=errors,
                operation=call.operation,
                request_id=request_id,
            ) from None
        path, message = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ResponseValidationError(
            f"response of {call.method} {redact_url(response.request.url)} does not match its model"
            f" at {path or '<body>'!r}: {message}{more}",
            response=response,
            errors=errors,
            operation=call.operation,
            request_id=request_id,
        ) from None
