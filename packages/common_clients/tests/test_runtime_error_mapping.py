"""httpx's exceptions never escape a client: every one of them is mapped, and a new one fails here.

A transport raises each exception class httpx defines (found by walking its hierarchy, so a class
added in a later httpx is covered without editing this file); the client must raise a
:class:`~common_clients.errors.ClientError` with the original as ``__cause__``: timeouts as
``APITimeoutError``, every other failure to get a response as ``APIConnectionError``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from common_clients import AsyncClient, RetryPolicy, SyncClient
from common_clients.errors import APIConnectionError, APITimeoutError, ClientError

NO_RETRIES = RetryPolicy(max_retries=0)


def _subclasses(base: type[Exception]) -> Iterator[type[Exception]]:
    yield base
    for subclass in base.__subclasses__():
        yield from _subclasses(subclass)


HTTPX_ERRORS = sorted(
    {
        error
        for base in (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, httpx.CookieConflict)
        for error in _subclasses(base)
        if error.__module__.startswith("httpx")
    },
    key=lambda error: error.__name__,
)


def _instance(error: type[Exception], request: httpx.Request) -> Exception:
    if issubclass(error, httpx.HTTPStatusError):
        return error("boom", request=request, response=httpx.Response(500, request=request))
    if issubclass(error, httpx.RequestError):
        return error("boom", request=request)
    try:
        return error("boom")
    except TypeError:
        return error()


@pytest.mark.parametrize("error", HTTPX_ERRORS, ids=[e.__name__ for e in HTTPX_ERRORS])
def test_every_httpx_exception_becomes_a_client_error(error: type[Exception]) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise _instance(error, request)

    client = SyncClient(
        base_url="http://svc.internal", transport=httpx.MockTransport(fail), retry_policy=NO_RETRIES
    )
    with client, pytest.raises(ClientError) as caught:
        client.request("GET", "/x", operation="probe", cast_to=dict)
    assert isinstance(caught.value.__cause__, error)
    assert caught.value.operation == "probe"
    expected = APITimeoutError if issubclass(error, httpx.TimeoutException) else APIConnectionError
    assert type(caught.value) is expected


@pytest.mark.parametrize("error", HTTPX_ERRORS, ids=[e.__name__ for e in HTTPX_ERRORS])
def test_every_httpx_exception_becomes_a_client_error_async(error: type[Exception]) -> None:
    async def fail(request: httpx.Request) -> httpx.Response:
        raise _instance(error, request)

    async def scenario() -> None:
        async with AsyncClient(
            base_url="http://svc.internal",
            transport=httpx.MockTransport(fail),
            retry_policy=NO_RETRIES,
        ) as client:
            with pytest.raises(ClientError) as caught:
                await client.request("GET", "/x", operation="probe", cast_to=dict)
            assert isinstance(caught.value.__cause__, error)

    asyncio.run(scenario())


def test_a_timeout_is_retried_for_get_but_not_for_post_without_a_key() -> None:
    attempts: list[str] = []

    def slow(request: httpx.Request) -> httpx.Response:
        attempts.append(request.method)
        raise httpx.ReadTimeout("slow", request=request)

    policy = RetryPolicy(max_retries=2, initial_backoff=0.0)
    with SyncClient(
        base_url="http://svc.internal", transport=httpx.MockTransport(slow), retry_policy=policy
    ) as client:
        with pytest.raises(APITimeoutError):
            client.request("GET", "/x", cast_to=dict)
        with pytest.raises(APITimeoutError):
            client.request("POST", "/x", cast_to=dict, body={"a": 1})
        with pytest.raises(APITimeoutError):
            client.request("POST", "/x", cast_to=dict, body={"a": 1}, idempotency_key="k1")
    assert attempts == ["GET"] * 3 + ["POST"] + ["POST"] * 3


def test_an_unsupported_scheme_is_not_retried() -> None:
    with SyncClient(base_url="http://svc.internal") as client, pytest.raises(APIConnectionError):
        client.request("GET", "ftp://svc.internal/x", cast_to=dict)
