"""Secrets in a URL (a base URL's ``user:password@``, a query's token) stay out of what we show.

Every error against the real server on 127.0.0.1 is checked three ways: ``str()``, ``repr()`` and
the runtime's own log records; the httpx request and response on the error keep the real URL.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from common_clients import RawResponse, RetryPolicy, SyncClient
from common_clients._redact import redact_url, redact_urls_in
from common_clients._response import to_raw_response
from common_clients.errors import (
    APIConnectionError,
    APITimeoutError,
    ClientError,
    NotFoundError,
    ResponseDecodeError,
    ResponseValidationError,
)

FAST = RetryPolicy(max_retries=1, initial_backoff=0.01, max_backoff=0.02)
TOKEN = "tok-5ecret-in-query"
PASSWORD = "pa55-in-userinfo"
USER = "svc-user-name"
SECRETS = (TOKEN, PASSWORD, USER)
QUERY = {"page": 2, "access_token": TOKEN}


class Item(BaseModel):
    id: int


class ItemsClient(SyncClient):
    service_name = "items"

    def retrieve(self, **options: Any) -> Item:
        return self.request(  # type: ignore[no-any-return]
            "GET", "/items/1/", operation="items_retrieve", cast_to=Item, **options
        )


def with_userinfo(url: str) -> str:
    return url.replace("http://", f"http://{USER}:{PASSWORD}@")


def runtime_log(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.name == "common_clients")


def assert_redacted(error: ClientError, caplog: pytest.LogCaptureFixture) -> None:
    shown = {"str": str(error), "repr": repr(error), "log": runtime_log(caplog)}
    for where, text in shown.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} in the {where}: {text}"
    assert "/items/1/?page=***&access_token=***" in str(error)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://u:p@host:8443/a/b?x=1&token=abc#frag", "https://host:8443/a/b?x=***&token=***"),
        ("https://token@host/", "https://host/"),
        ("http://host/p?empty=&flag&a=1&a=2", "http://host/p?empty=&flag&a=***&a=***"),
        ("http://host/p?sig=a%26b%3Dc", "http://host/p?sig=***"),
        ("http://host/p", "http://host/p"),
        ("/relative/path?key=v", "/relative/path?key=***"),
        ("user:password@host", "user:***"),
        ("http://host:notaport/", "***"),
    ],
)
def test_redact_url_drops_userinfo_and_every_query_value(url, shown):
    assert redact_url(url) == shown


def test_urls_inside_a_message_are_redacted_and_the_rest_kept():
    text = "Client error '404 Not Found' for url 'http://u:p@h/x?api_key=k1'\nsee http://h/y?a=b."
    assert redact_urls_in(text) == (
        "Client error '404 Not Found' for url 'http://h/x?api_key=***'\nsee http://h/y?a=***"
    )


def test_connection_refused(refused_url, caplog):
    caplog.set_level(logging.INFO, logger="common_clients")
    with (
        ItemsClient(base_url=with_userinfo(refused_url), retry_policy=FAST) as client,
        pytest.raises(APIConnectionError) as caught,
    ):
        client.retrieve(extra_query=QUERY)
    assert type(caught.value) is APIConnectionError
    assert_redacted(caught.value, caplog)
    assert "retrying GET http://127.0.0.1:" in runtime_log(caplog)
    assert caught.value.request is not None
    assert caught.value.request.url.params["access_token"] == TOKEN  # the real request, whole


def test_timeout(loopback, caplog):
    caplog.set_level(logging.INFO, logger="common_clients")
    loopback.route("GET", "/items/1/", loopback.reply(200, {"id": 1}, delay=5.0))
    with (
        ItemsClient(base_url=with_userinfo(loopback.url), timeout=0.2, retry_policy=FAST) as c,
        pytest.raises(APITimeoutError) as caught,
    ):
        c.retrieve(extra_query=QUERY)
    assert_redacted(caught.value, caplog)
    assert "ReadTimeout" in runtime_log(caplog)
    assert loopback.requests[0].query == f"page=2&access_token={TOKEN}"  # sent as given


def test_status_error(loopback, caplog):
    caplog.set_level(logging.INFO, logger="common_clients")
    loopback.route("GET", "/items/1/", loopback.reply(404, {"detail": "No such item."}))
    with (
        ItemsClient(base_url=with_userinfo(loopback.url), retry_policy=FAST) as client,
        pytest.raises(NotFoundError) as caught,
    ):
        client.retrieve(extra_query=QUERY)
    assert_redacted(caught.value, caplog)
    assert str(caught.value).startswith(f"404 Not Found from GET {loopback.url}/items/1/?page=***")
    assert TOKEN in str(caught.value.response.request.url)


def test_a_retry_log_record_shows_the_url_redacted(loopback, caplog):
    caplog.set_level(logging.INFO, logger="common_clients")
    loopback.route("GET", "/items/1/", [loopback.reply(503), loopback.reply(200, {"id": 1})])
    with ItemsClient(base_url=with_userinfo(loopback.url), retry_policy=FAST) as client:
        assert client.retrieve(extra_query=QUERY).id == 1
    [record] = [r for r in caplog.records if r.name == "common_clients"]
    message = record.getMessage()
    assert message.startswith(f"retrying GET {loopback.url}/items/1/?page=***&access_token=***")
    assert "after 503" in message
    for secret in SECRETS:
        assert secret not in message
        assert secret not in repr(record.args)


def test_response_validation_and_decode_errors(loopback, caplog):
    caplog.set_level(logging.INFO, logger="common_clients")
    loopback.route("GET", "/items/1/", loopback.reply(200, {"id": "not a number"}))
    with ItemsClient(base_url=with_userinfo(loopback.url)) as client:
        with pytest.raises(ResponseValidationError) as caught:
            client.retrieve(extra_query=QUERY)
        assert type(caught.value) is ResponseValidationError
        assert_redacted(caught.value, caplog)
        assert caught.value.field_path == "id"
        loopback.route("GET", "/items/1/", loopback.reply(200, "<html>"))
        with pytest.raises(ResponseDecodeError) as decoded:
            client.retrieve(extra_query=QUERY)
        assert_redacted(decoded.value, caplog)


def test_raw_response_repr(loopback):
    loopback.route("GET", "/items/1/", loopback.reply(200, {"id": 1}))
    with ItemsClient(base_url=with_userinfo(loopback.url)) as client:
        raw = to_raw_response(client.retrieve)(extra_query=QUERY)
    assert isinstance(raw, RawResponse)
    assert raw.parsed == Item(id=1)
    assert repr(raw) == (
        f"RawResponse(status_code=200, request='GET {loopback.url}/items/1/"
        "?page=***&access_token=***', parsed=Item(id=1))"
    )
    assert raw.http_response.request.url.password == PASSWORD  # the real request, whole


def test_client_repr():
    client = ItemsClient(base_url=f"http://{USER}:{PASSWORD}@items.internal/api/?key=k-secret")
    try:
        assert repr(client) == "<ItemsClient base_url='http://items.internal/api/?key=***'>"
    finally:
        client.close()


def test_a_hooks_httpx_error_naming_the_url_is_redacted_too(loopback, caplog):
    loopback.route("GET", "/items/1/", loopback.reply(404))
    hooks = {"response": [lambda response: response.raise_for_status()]}
    with (
        ItemsClient(base_url=with_userinfo(loopback.url), event_hooks=hooks, max_retries=0) as c,
        pytest.raises(APIConnectionError) as caught,
    ):
        c.retrieve(extra_query=QUERY)
    assert isinstance(caught.value.__cause__, httpx.HTTPStatusError)
    assert_redacted(caught.value, caplog)
    assert f"for url '{loopback.url}/items/1/?page=***&access_token=***'" in str(caught.value)


def test_a_bad_base_url_is_refused_without_echoing_it():
    with pytest.raises(ValueError, match="base_url must be an absolute http") as caught:
        ItemsClient(base_url=f"ftp://{USER}:{PASSWORD}@files.internal/")
    assert PASSWORD not in str(caught.value)
    assert USER not in str(caught.value)
    with pytest.raises(ValueError, match="base_url is not a valid URL"):
        ItemsClient(base_url="http://host:notaport/")
