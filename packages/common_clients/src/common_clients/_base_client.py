"""The clients every generated service client extends: configuration and requests in one core.

:class:`BaseClient` holds the configuration (base URL, timeouts, retries, headers) and turns a call
into an httpx request through the header policies; :class:`SyncClient` and :class:`AsyncClient`
differ only in how they send and wait. A call is: build -> send -> (retry?) -> map errors ->
parse, each step one of the small policies in ``_policies``, ``_retry`` and ``_response``; the
call and each attempt are traced and measured by ``_telemetry`` around them.

Generated code calls :meth:`SyncClient.request` / :meth:`SyncClient.request_page` (and the async
twins); applications construct a generated client (``UsersClient(base_url=..., auth=...)``) and use
it as a context manager or call :meth:`SyncClient.close` when done. ``client.with_options(...)``
derives a client with other defaults (timeout, retries, headers, auth) over the same connection
pool, as the Stripe and OpenAI SDKs do.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import enum
import functools
import inspect
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal, NamedTuple, Self, TypeAlias, Unpack
from urllib.parse import quote

import httpx
import pydantic

from common_clients._cache import AsyncCachingTransport, CachingTransport, HTTPCache
from common_clients._pagination import AsyncPage, AsyncPager, Pagination, SyncPage
from common_clients._policies import (
    Call,
    ErrorMappingPolicy,
    HeaderPolicy,
    IdempotencyKeyPolicy,
    RequestIdPolicy,
    UserAgentPolicy,
    apply_header_policies,
    new_call,
)
from common_clients._redact import redact_url
from common_clients._response import Expect, capture_response, parse_response
from common_clients._retry import RetryPolicy
from common_clients._telemetry import AttemptTelemetry, CallTelemetry
from common_clients._types import (
    NOT_GIVEN,
    NotGiven,
    QueryValue,
    RequestOptions,
    TimeoutTypes,
    given,
)
from common_clients.errors import ClientError
from common_utils import get_request_id, records_spans

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_TIMEOUT",
    "AsyncClient",
    "BaseClient",
    "BodyKind",
    "SyncClient",
    "path_param",
]

_logger = logging.getLogger("common_clients")

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
"""30 s for every phase, 5 s to connect: a call never waits unbounded."""
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)

BodyKind: TypeAlias = Literal["json", "form", "multipart", "content"]
"""How ``body`` is sent: JSON, a urlencoded or multipart form, or as it is (bytes or text)."""
EventHooks: TypeAlias = Mapping[str, list[Callable[..., Any]]]

# Sending failed in a way httpx reports with its own exceptions; all become ClientErrors.
_HTTPX_ERRORS = (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, httpx.CookieConflict)
# Failures worth another attempt: the network, not the request (a bad URL or redirect loop is not).
_NOT_RETRYABLE = (httpx.UnsupportedProtocol, httpx.ProxyError)
# What a call of a client with ``telemetry = False`` is traced and measured with: nothing.
_NO_TELEMETRY: contextlib.nullcontext[None] = contextlib.nullcontext()


class _Retry(NamedTuple):
    """An attempt that is tried again after ``delay`` seconds; it got ``failure`` (an
    ``error.type``: the status code, or the name of the exception)."""

    delay: float
    failure: str


def path_param(value: object) -> str:
    """``value`` as one path segment: ``/`` and every reserved character percent-encoded."""
    if type(value) is int:  # the usual id, and it never needs quoting
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    text = _form_value(value)
    return text if _UNRESERVED.fullmatch(text) else quote(text, safe="")


_UNRESERVED = re.compile(r"[A-Za-z0-9._~-]*")


def _timeout(value: TimeoutTypes | None, where: str) -> httpx.Timeout:
    if value is None:
        raise ValueError(f"{where}: a timeout is required (None would wait forever)")
    timeout = value if isinstance(value, httpx.Timeout) else httpx.Timeout(value)
    phases = timeout.as_dict()
    unbounded = sorted(phase for phase, seconds in phases.items() if seconds is None)
    if unbounded:
        raise ValueError(f"{where}: the {', '.join(unbounded)} timeout is unbounded (None)")
    return timeout


def _set_headers(target: dict[str, str], source: Mapping[str, str]) -> None:
    """Set ``source``'s headers in ``target``, each replacing one of its name in another case."""
    for name, value in source.items():
        lowered = name.lower()
        for existing in [key for key in target if key.lower() == lowered and key != name]:
            del target[existing]
        target[name] = value


def _url_prefix(base_url: httpx.URL) -> str:
    """``base_url`` as text ending in "/", so that ``prefix + path[1:]`` is the URL httpx would
    build by merging ``path`` into it (``base.raw_path + path.lstrip("/")``)."""
    prefix = str(base_url)
    return prefix if prefix.endswith("/") else prefix + "/"


def _retry_policy(policy: RetryPolicy, max_retries: int | NotGiven, where: str) -> RetryPolicy:
    """``policy`` with ``max_retries`` as its budget when that is given."""
    if isinstance(max_retries, NotGiven) or max_retries == policy.max_retries:
        return policy
    if max_retries < 0:
        raise ValueError(f"{where}: max_retries must be >= 0, got {max_retries}")
    return dataclasses.replace(policy, max_retries=max_retries)


def _body_arguments(body: Any, kind: BodyKind) -> dict[str, Any]:
    """httpx keyword arguments that send ``body`` (a model, or plain data) as ``kind``."""
    if body is None:
        return {}
    if kind == "content":
        return {"content": body}
    if kind == "json":
        if isinstance(body, pydantic.BaseModel):
            return {
                "content": body.model_dump_json(by_alias=True, exclude_unset=True).encode(),
                "headers": {"Content-Type": "application/json"},
            }
        return {"json": body}
    fields = (
        body.model_dump(mode="python", by_alias=True, exclude_unset=True)
        if isinstance(body, pydantic.BaseModel)
        else dict(body)
    )
    if kind == "form":
        data: dict[str, Any] = {}
        for name, value in fields.items():
            if value is not None:
                data[name] = (
                    [_form_value(v) for v in value]
                    if isinstance(value, list)
                    else _form_value(value)
                )
        return {"data": data}
    # multipart: every field is a part; (None, text) makes a plain field rather than a file, and
    # keeps the body multipart even when no file is sent.
    parts: list[tuple[str, Any]] = []
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                continue
            if isinstance(item, bytes | tuple) or hasattr(item, "read"):
                parts.append((name, item if not isinstance(item, bytes) else (name, item)))
            else:
                parts.append((name, (None, _form_value(item))))
    return {"files": parts}


def _query_value(value: Any) -> Any:
    """A query value as text httpx sends unchanged (lists stay lists: the name repeats)."""
    if isinstance(value, list | tuple):
        return [_form_value(item) for item in value]
    return _form_value(value)


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, pydantic.BaseModel | dict | list):
        return pydantic.TypeAdapter(Any).dump_json(value).decode()
    if isinstance(value, enum.Enum):
        return _form_value(value.value)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


class BaseClient:
    """Configuration and request building shared by :class:`SyncClient` and :class:`AsyncClient`.

    ``service_name`` (set by each generated client) goes into the user agent and names the
    client's spans and metrics (``common_clients._telemetry``). ``url_templates`` (set by each
    generated client) maps an operation id to its path template (``"users_retrieve":
    "/api/users/{id}/"``), which names the spans of the operation's calls (``GET
    /api/users/{id}/``); a call of an operation it lacks is named after its method alone.
    ``telemetry = False`` (on a subclass, or on one client) makes calls that record no span and
    no metric; the current trace context is still sent.
    """

    service_name: ClassVar[str] = ""
    url_templates: ClassVar[Mapping[str, str]] = {}
    telemetry: bool = True

    def __init__(
        self,
        *,
        base_url: str | httpx.URL,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        max_retries: int | NotGiven = NOT_GIVEN,
        retry_policy: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        where = type(self).__name__
        try:
            url = httpx.URL(base_url)
        except httpx.InvalidURL as exc:
            raise ValueError(f"{where}: base_url is not a valid URL: {exc}") from None
        if url.scheme not in ("http", "https") or not url.host:
            # Not echoed whole: a base URL may carry a password.
            raise ValueError(
                f"{where}: base_url must be an absolute http(s) URL,"
                f" got scheme {url.scheme!r} and host {url.host!r}"
            )
        self.base_url = url
        self.timeout = _timeout(timeout, f"{where}(timeout=...)")
        self.retry_policy = _retry_policy(
            retry_policy or RetryPolicy(), max_retries, f"{where}(max_retries=...)"
        )
        self.max_retries = self.retry_policy.max_retries
        self.headers = dict(headers or {})
        # Headers a derived client (with_options) adds to what its connection sends by default.
        self._extra_headers: dict[str, str] = {}
        # Keywords for httpx's ``send``: a derived client's own ``auth``.
        self._send_options: dict[str, Any] = {}
        self._owns_pool = True
        # Headers every call sends go to the connection once; per-call steps run on each call.
        self._default_headers = dict(self.headers)
        UserAgentPolicy(self.service_name).apply(self._default_headers)
        self._header_policies: tuple[HeaderPolicy, ...] = (
            RequestIdPolicy(),
            IdempotencyKeyPolicy(),
        )
        self._errors = ErrorMappingPolicy()

    _pool_timeout: httpx.Timeout
    # The pool's base URL as text, ending in "/": an operation's path joined to it is parsed
    # once by httpx, where a relative path costs a parse of its own and one more to merge.
    _url_prefix: str

    def _adopt_pool(self, pool: httpx.Client | httpx.AsyncClient) -> None:
        """Take from the new connection pool what every call reuses: its ``Timeout`` object
        (the same one as ``self.timeout``, see :meth:`_call_timeout`) and its base URL."""
        self.timeout = self._pool_timeout = pool.timeout
        self._url_prefix = _url_prefix(pool.base_url)

    def _call_timeout(self) -> Any:
        """This client's timeout as a call hands it to httpx: ``USE_CLIENT_DEFAULT`` while it is
        the pool's own ``Timeout`` object, so httpx builds no ``Timeout`` per call; the object
        itself once it differs (:meth:`with_options`, or ``client.timeout`` set later)."""
        timeout = self.timeout
        return httpx.USE_CLIENT_DEFAULT if timeout is self._pool_timeout else timeout

    def _prepare(
        self,
        method: str,
        path: str,
        *,
        operation: str | None,
        params: Mapping[str, QueryValue] | None,
        headers: Mapping[str, Any] | None,
        cookies: Mapping[str, Any] | None,
        body: Any,
        body_kind: BodyKind,
        options: RequestOptions,
    ) -> tuple[Call, dict[str, Any], int]:
        """The call, the ``build_request`` arguments and the retry budget of one call."""
        call = new_call(
            method,
            operation,
            options.get("idempotency_key", False),
            get_request_id(),
            # With no tracer provider nothing records: the call's headers carry the trace.
            traced_attempts=self.telemetry and records_spans(),
        )
        query: dict[str, Any] = {}
        for source in (params, options.get("extra_query")):
            if source:
                query.update(
                    (key, _query_value(value)) for key, value in source.items() if value is not None
                )
        arguments = {} if body is None else _body_arguments(body, body_kind)
        # The policies' headers first: each later source replaces a header of the same name in
        # any case (httpx would send both), so what the caller sets explicitly wins.
        outgoing = apply_header_policies(self._header_policies, {}, call)
        body_headers = arguments.pop("headers", None)
        if body_headers:
            _set_headers(outgoing, body_headers)
        if self._extra_headers:
            _set_headers(outgoing, self._extra_headers)
        if headers:
            _set_headers(outgoing, {k: _form_value(v) for k, v in headers.items() if v is not None})
        if cookies:
            jar = "; ".join(f"{k}={_form_value(v)}" for k, v in cookies.items() if v is not None)
            if jar:
                _set_headers(outgoing, {"Cookie": jar})
        extra_headers = options.get("extra_headers")
        if extra_headers:
            _set_headers(outgoing, extra_headers)
        timeout = options.get("timeout", NOT_GIVEN)
        arguments.update(
            method=method,
            url=self._url_prefix + path[1:] if path.startswith("/") else path,
            params=query or None,
            headers=outgoing,
            timeout=self._call_timeout()
            if isinstance(timeout, NotGiven)
            else _timeout(timeout, f"{operation or path}: timeout"),
        )
        retries = given(options.get("max_retries", self.max_retries), self.max_retries)
        if retries < 0:
            raise ValueError(f"{operation or path}: max_retries must be >= 0, got {retries}")
        return call, arguments, retries

    def _retry_delay(
        self,
        call: Call,
        request: httpx.Request,
        attempt: int,
        budget: int,
        *,
        response: httpx.Response | None = None,
        error: Exception | None = None,
    ) -> float | None:
        """Seconds to wait before trying ``request`` again, or ``None`` to stop here."""
        if attempt >= budget or not self.retry_policy.may_retry(request):
            return None
        if response is not None:
            if not self.retry_policy.should_retry_status(response.status_code):
                return None
        elif not isinstance(error, httpx.TransportError) or isinstance(error, _NOT_RETRYABLE):
            return None
        delay = self.retry_policy.delay(attempt, response)
        _logger.info(
            "retrying %s %s (%s) in %.2f s, attempt %d of %d, after %s",
            request.method,
            redact_url(request.url),
            call.operation or "-",
            delay,
            attempt + 2,
            budget + 1,
            response.status_code if response is not None else type(error).__name__,
            # Inside a request context common-utils' log filter stamps its ids; outside one, the
            # id this call was sent with is the one to search the called service's logs for.
            extra={} if get_request_id() else {"request_id": call.request_id},
        )
        return delay

    def with_options(
        self,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        retry_policy: RetryPolicy | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | NotGiven = NOT_GIVEN,
        auth: httpx.Auth | NotGiven | None = NOT_GIVEN,
    ) -> Self:
        """A client like this one with other defaults, over the same connection pool.

        ``client.with_options(timeout=2.0, max_retries=0).users.retrieve(id=1)``, or keep the
        derived client for a part of the code that needs other settings. Each option left out
        keeps this client's; ``headers`` are added to this client's (a name given again wins);
        ``max_retries`` replaces the retry policy's budget; ``auth`` replaces the credentials
        (``None`` sends none). Per-call options still win over the derived client's. The pool
        stays this client's: closing a derived client leaves it open, closing this one closes it.
        """
        derived = copy.copy(self)
        owner = type(self)
        # Resources and raw views are cached per client and bound to the one that made them.
        for name in list(vars(derived)):
            if isinstance(inspect.getattr_static(owner, name, None), functools.cached_property):
                del vars(derived)[name]
        where = f"{owner.__name__}.with_options"
        if not isinstance(timeout, NotGiven):
            derived.timeout = _timeout(timeout, f"{where}(timeout=...)")
        derived.retry_policy = _retry_policy(
            given(retry_policy, self.retry_policy), max_retries, f"{where}(max_retries=...)"
        )
        derived.max_retries = derived.retry_policy.max_retries
        added = given(headers, {})
        derived.headers = {**self.headers, **added}
        derived._extra_headers = {**self._extra_headers, **added}
        if not isinstance(auth, NotGiven):
            derived._send_options = {**self._send_options, "auth": auth}
        derived._owns_pool = False
        return derived

    def __repr__(self) -> str:
        return f"<{type(self).__name__} base_url={redact_url(self.base_url)!r}>"


class SyncClient(BaseClient):
    """A blocking client over :class:`httpx.Client`; use it with ``with`` or :meth:`close` it.

    ``auth`` takes any :class:`httpx.Auth` (common-auth's service credentials among them);
    ``event_hooks`` and ``transport`` go to httpx as they are. With ``cache`` (an
    :class:`HTTPCache`) answers are cached as HTTP says (RFC 9111); without it nothing is.
    """

    def __init__(
        self,
        *,
        base_url: str | httpx.URL,
        auth: httpx.Auth | None = None,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        max_retries: int | NotGiven = NOT_GIVEN,
        retry_policy: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        limits: httpx.Limits = DEFAULT_LIMITS,
        event_hooks: EventHooks | None = None,
        transport: httpx.BaseTransport | None = None,
        cache: HTTPCache | None = None,
    ) -> None:
        super().__init__(
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            headers=headers,
        )
        if cache is not None:
            transport = CachingTransport(transport or httpx.HTTPTransport(limits=limits), cache)
        self.cache = cache
        self._http = httpx.Client(
            base_url=self.base_url,
            auth=auth,
            timeout=self.timeout,
            limits=limits,
            event_hooks=event_hooks,
            transport=transport,
            headers=self._default_headers,
        )
        self._adopt_pool(self._http)

    def request(
        self,
        method: str,
        path: str,
        *,
        operation: str | None = None,
        cast_to: Any = None,
        expect: Expect = "json",
        params: Mapping[str, QueryValue] | None = None,
        headers: Mapping[str, Any] | None = None,
        cookies: Mapping[str, Any] | None = None,
        body: Any = None,
        body_kind: BodyKind = "json",
        **options: Unpack[RequestOptions],
    ) -> Any:
        """Send one call (with its retries) and return its body parsed as ``cast_to``."""
        call, arguments, budget = self._prepare(
            method,
            path,
            operation=operation,
            params=params,
            headers=headers,
            cookies=cookies,
            body=body,
            body_kind=body_kind,
            options=options,
        )
        with (
            CallTelemetry(self.service_name, call, self._http, self.url_templates)
            if self.telemetry
            else _NO_TELEMETRY
        ) as telemetry:
            response = self._send(call, arguments, budget, telemetry)
            return parse_response(response, cast_to, call, expect)

    def request_page(
        self,
        method: str,
        path: str,
        *,
        operation: str | None = None,
        page_model: Any,
        pagination: Pagination,
        params: Mapping[str, QueryValue] | None = None,
        headers: Mapping[str, Any] | None = None,
        cookies: Mapping[str, Any] | None = None,
        **options: Unpack[RequestOptions],
    ) -> SyncPage[Any]:
        """The first page of a listing; the page fetches the ones after it when iterated."""
        base = dict(params or {})

        def fetch(page_params: Mapping[str, str]) -> SyncPage[Any]:
            body = self.request(
                method,
                path,
                operation=operation,
                cast_to=page_model,
                params={**base, **page_params},
                headers=headers,
                cookies=cookies,
                **options,
            )
            return SyncPage(body=body, pagination=pagination, fetch=fetch)

        return fetch({})

    def _send(
        self,
        call: Call,
        arguments: Mapping[str, Any],
        budget: int,
        telemetry: CallTelemetry | None,
    ) -> httpx.Response:
        attempt = 0
        waited = 0.0
        while True:
            step = None if telemetry is None else telemetry.attempt(attempt, waited)
            if step is None:
                outcome = self._attempt(call, arguments, budget, attempt, None)
            else:
                with step:
                    outcome = self._attempt(call, arguments, budget, attempt, step)
            if not isinstance(outcome, _Retry):
                return outcome
            if telemetry is not None:
                telemetry.retried(outcome.failure)
            time.sleep(outcome.delay)
            waited = outcome.delay
            attempt += 1

    def _attempt(
        self,
        call: Call,
        arguments: Mapping[str, Any],
        budget: int,
        attempt: int,
        step: AttemptTelemetry | None,
    ) -> httpx.Response | _Retry:
        """One attempt: its successful response, a retry to make, or the call's error raised."""
        request: httpx.Request | None = None
        try:
            request = self._http.build_request(**arguments)
            if step is not None:
                step.sending(request)
            response = self._http.send(request, **self._send_options)
        except (*_HTTPX_ERRORS, ClientError) as exc:
            if step is not None:
                step.failed(exc)
            delay = (
                None
                if request is None
                else self._retry_delay(call, request, attempt, budget, error=exc)
            )
            if delay is None:
                raise self._errors.transport_error(exc, request, call) from exc
            return _Retry(delay, type(exc).__name__)
        capture_response(response)
        if step is not None:
            step.answered(response)
        if response.status_code < 400:
            return response
        delay = self._retry_delay(call, request, attempt, budget, response=response)
        if delay is None:
            raise self._errors.status_error(response, call)
        response.close()
        return _Retry(delay, str(response.status_code))

    def close(self) -> None:
        """Close the connection pool (a client from :meth:`with_options` leaves it open)."""
        if self._owns_pool:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncClient(BaseClient):
    """A client over :class:`httpx.AsyncClient`; use it with ``async with`` or :meth:`aclose` it.

    ``auth`` takes any :class:`httpx.Auth` (common-auth's service credentials among them);
    ``event_hooks`` (async callables) and ``transport`` go to httpx as they are. With ``cache``
    (an :class:`HTTPCache`) answers are cached as HTTP says (RFC 9111); without it nothing is.
    """

    def __init__(
        self,
        *,
        base_url: str | httpx.URL,
        auth: httpx.Auth | None = None,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        max_retries: int | NotGiven = NOT_GIVEN,
        retry_policy: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        limits: httpx.Limits = DEFAULT_LIMITS,
        event_hooks: EventHooks | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        cache: HTTPCache | None = None,
    ) -> None:
        super().__init__(
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            headers=headers,
        )
        if cache is not None:
            transport = AsyncCachingTransport(
                transport or httpx.AsyncHTTPTransport(limits=limits), cache
            )
        self.cache = cache
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            auth=auth,
            timeout=self.timeout,
            limits=limits,
            event_hooks=event_hooks,
            transport=transport,
            headers=self._default_headers,
        )
        self._adopt_pool(self._http)

    async def request(
        self,
        method: str,
        path: str,
        *,
        operation: str | None = None,
        cast_to: Any = None,
        expect: Expect = "json",
        params: Mapping[str, QueryValue] | None = None,
        headers: Mapping[str, Any] | None = None,
        cookies: Mapping[str, Any] | None = None,
        body: Any = None,
        body_kind: BodyKind = "json",
        **options: Unpack[RequestOptions],
    ) -> Any:
        """Send one call (with its retries) and return its body parsed as ``cast_to``."""
        call, arguments, budget = self._prepare(
            method,
            path,
            operation=operation,
            params=params,
            headers=headers,
            cookies=cookies,
            body=body,
            body_kind=body_kind,
            options=options,
        )
        with (
            CallTelemetry(self.service_name, call, self._http, self.url_templates)
            if self.telemetry
            else _NO_TELEMETRY
        ) as telemetry:
            response = await self._send(call, arguments, budget, telemetry)
            return parse_response(response, cast_to, call, expect)

    def request_page(
        self,
        method: str,
        path: str,
        *,
        operation: str | None = None,
        page_model: Any,
        pagination: Pagination,
        params: Mapping[str, QueryValue] | None = None,
        headers: Mapping[str, Any] | None = None,
        cookies: Mapping[str, Any] | None = None,
        **options: Unpack[RequestOptions],
    ) -> AsyncPager[Any]:
        """A pager: await it for the first page, or ``async for`` every item of every page."""
        base = dict(params or {})

        async def fetch(page_params: Mapping[str, str]) -> AsyncPage[Any]:
            body = await self.request(
                method,
                path,
                operation=operation,
                cast_to=page_model,
                params={**base, **page_params},
                headers=headers,
                cookies=cookies,
                **options,
            )
            return AsyncPage(body=body, pagination=pagination, fetch=fetch)

        return AsyncPager(lambda: fetch({}))

    async def _send(
        self,
        call: Call,
        arguments: Mapping[str, Any],
        budget: int,
        telemetry: CallTelemetry | None,
    ) -> httpx.Response:
        attempt = 0
        waited = 0.0
        while True:
            step = None if telemetry is None else telemetry.attempt(attempt, waited)
            if step is None:
                outcome = await self._attempt(call, arguments, budget, attempt, None)
            else:
                with step:
                    outcome = await self._attempt(call, arguments, budget, attempt, step)
            if not isinstance(outcome, _Retry):
                return outcome
            if telemetry is not None:
                telemetry.retried(outcome.failure)
            await asyncio.sleep(outcome.delay)
            waited = outcome.delay
            attempt += 1

    async def _attempt(
        self,
        call: Call,
        arguments: Mapping[str, Any],
        budget: int,
        attempt: int,
        step: AttemptTelemetry | None,
    ) -> httpx.Response | _Retry:
        """One attempt: its successful response, a retry to make, or the call's error raised."""
        request: httpx.Request | None = None
        try:
            request = self._http.build_request(**arguments)
            if step is not None:
                step.sending(request)
            response = await self._http.send(request, **self._send_options)
        except (*_HTTPX_ERRORS, ClientError) as exc:
            if step is not None:
                step.failed(exc)
            delay = (
                None
                if request is None
                else self._retry_delay(call, request, attempt, budget, error=exc)
            )
            if delay is None:
                raise self._errors.transport_error(exc, request, call) from exc
            return _Retry(delay, type(exc).__name__)
        capture_response(response)
        if step is not None:
            step.answered(response)
        if response.status_code < 400:
            return response
        delay = self._retry_delay(call, request, attempt, budget, response=response)
        if delay is None:
            raise self._errors.status_error(response, call)
        await response.aclose()
        return _Retry(delay, str(response.status_code))

    async def aclose(self) -> None:
        """Close the connection pool (a client from :meth:`with_options` leaves it open)."""
        if self._owns_pool:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
