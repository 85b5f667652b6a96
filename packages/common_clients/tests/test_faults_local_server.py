"""Faults against a real server on 127.0.0.1: each gives its typed error or the promised retries.

Every test bounds its own wait (timeouts of a fraction of a second, small backoffs), so a
regression shows as a failure, never as a hung run.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from pydantic import BaseModel

from common_clients import AsyncClient, RetryPolicy, SyncClient
from common_clients.errors import (
    APIConnectionError,
    APITimeoutError,
    InternalServerError,
    RateLimitError,
    ResponseDecodeError,
)

FAST = RetryPolicy(max_retries=2, initial_backoff=0.01, max_backoff=0.05)


class Item(BaseModel):
    id: int


class ItemsClient(SyncClient):
    service_name = "items"

    def retrieve(self, **options: Any) -> Item:
        return self.request(  # type: ignore[no-any-return]
            "GET", "/items/1/", operation="items_retrieve", cast_to=Item, **options
        )


class AsyncItemsClient(AsyncClient):
    service_name = "items"

    async def retrieve(self, **options: Any) -> Item:
        return await self.request(  # type: ignore[no-any-return]
            "GET", "/items/1/", operation="items_retrieve", cast_to=Item, **options
        )


def test_connection_refused_is_a_connection_error_after_the_retries(refused_url):
    with (
        ItemsClient(base_url=refused_url, retry_policy=FAST) as client,
        pytest.raises(APIConnectionError) as caught,
    ):
        client.retrieve()
    assert type(caught.value) is APIConnectionError
    assert caught.value.operation == "items_retrieve"
    assert isinstance(caught.value.__cause__, Exception)
    assert "ConnectError" in str(caught.value)


def test_a_slow_response_past_the_timeout_is_a_timeout_error_retried(loopback):
    loopback.route("GET", "/items/1/", loopback.reply(200, {"id": 1}, delay=5.0))
    with (
        ItemsClient(base_url=loopback.url, timeout=0.2, retry_policy=FAST) as client,
        pytest.raises(APITimeoutError) as caught,
    ):
        client.retrieve()
    assert caught.value.operation == "items_retrieve"
    assert len(loopback.requests) == 3  # one call, two retries


def test_a_per_call_timeout_beats_the_clients(loopback):
    loopback.route("GET", "/items/1/", loopback.reply(200, {"id": 1}, delay=5.0))
    with ItemsClient(base_url=loopback.url, timeout=30.0) as client, pytest.raises(APITimeoutError):
        client.retrieve(timeout=0.2, max_retries=0)
    assert len(loopback.requests) == 1


def test_503_with_retry_after_waits_as_asked_then_succeeds(loopback):
    loopback.route(
        "GET",
        "/items/1/",
        [loopback.reply(503, headers={"Retry-After": "1"}), loopback.reply(200, {"id": 1})],
    )
    policy = RetryPolicy(max_retries=1, initial_backoff=0.0)
    with ItemsClient(base_url=loopback.url, retry_policy=policy) as client:
        started = time.monotonic()
        assert client.retrieve().id == 1
        waited = time.monotonic() - started
    assert len(loopback.requests) == 2
    assert waited >= 0.95  # backoff alone would have waited 0 s: the header decided


def test_retry_after_beyond_the_cap_falls_back_to_backoff(loopback):
    loopback.route(
        "GET",
        "/items/1/",
        [loopback.reply(429, headers={"Retry-After": "3600"}), loopback.reply(429)],
    )
    policy = RetryPolicy(max_retries=1, initial_backoff=0.0, max_retry_after=10)
    with (
        ItemsClient(base_url=loopback.url, retry_policy=policy) as client,
        pytest.raises(RateLimitError),
    ):
        client.retrieve()
    assert len(loopback.requests) == 2


def test_malformed_json_is_a_decode_error(loopback):
    loopback.route(
        "GET",
        "/items/1/",
        loopback.reply(200, b'{"id": 1,', headers={"Content-Type": "application/json"}),
    )
    with (
        ItemsClient(base_url=loopback.url) as client,
        pytest.raises(ResponseDecodeError, match="malformed JSON") as caught,
    ):
        client.retrieve()
    assert caught.value.operation == "items_retrieve"
    assert caught.value.status_code == 200


def test_a_wrong_content_type_is_a_decode_error(loopback):
    loopback.route(
        "GET",
        "/items/1/",
        loopback.reply(200, b"<html>login</html>", headers={"Content-Type": "text/html"}),
    )
    with (
        ItemsClient(base_url=loopback.url) as client,
        pytest.raises(ResponseDecodeError, match=r"expected a JSON body.*text/html"),
    ):
        client.retrieve()


def test_a_proxy_error_page_is_a_server_error_with_its_text(loopback):
    page = "<html>502 Bad Gateway</html>"
    loopback.route(
        "GET", "/items/1/", loopback.reply(502, page, headers={"Content-Type": "text/html"})
    )
    with (
        ItemsClient(base_url=loopback.url, retry_policy=FAST) as client,
        pytest.raises(InternalServerError) as caught,
    ):
        client.retrieve()
    assert caught.value.body == page
    assert len(loopback.requests) == 3


def test_a_connection_dropped_without_answer_is_a_connection_error(loopback):
    loopback.route("GET", "/items/1/", loopback.reply(drop=True))
    with (
        ItemsClient(base_url=loopback.url, retry_policy=FAST) as client,
        pytest.raises(APIConnectionError) as caught,
    ):
        client.retrieve()
    assert "RemoteProtocolError" in str(caught.value)
    assert len(loopback.requests) == 3


def test_async_faults_are_the_same_errors(loopback, refused_url):
    loopback.route("GET", "/items/1/", loopback.reply(200, {"id": 1}, delay=5.0))

    async def scenario() -> None:
        async with AsyncItemsClient(base_url=loopback.url, timeout=0.2, retry_policy=FAST) as c:
            with pytest.raises(APITimeoutError):
                await c.retrieve()
        async with AsyncItemsClient(base_url=refused_url, retry_policy=FAST) as c:
            with pytest.raises(APIConnectionError):
                await c.retrieve()

    asyncio.run(scenario())
    assert len(loopback.requests) == 3


def test_async_retries_a_503_as_the_sync_client_does(loopback):
    loopback.route(
        "GET",
        "/items/1/",
        [loopback.reply(503, headers={"Retry-After": "0"}), loopback.reply(200, {"id": 1})],
    )

    async def scenario() -> Item:
        async with AsyncItemsClient(base_url=loopback.url, retry_policy=FAST) as client:
            return await client.retrieve()

    assert asyncio.run(scenario()).id == 1
    assert len(loopback.requests) == 2
