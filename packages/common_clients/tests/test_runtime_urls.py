"""The URL a call goes to is the one httpx would build from the client's base URL and the path.

The client joins an operation's path to its base URL itself (one parse per call instead of httpx's
two); these cases hold it to httpx's own merge: base URLs with and without a path, a trailing
slash, a port, IPv6, and paths with encoded and non-ASCII characters or a query. (A base URL with
a query is not one httpx can merge into: it appends the path to the query.)
"""

from __future__ import annotations

import httpx
import pytest

from common_clients import SyncClient
from common_clients._base_client import path_param

BASES = [
    "http://svc.test",
    "http://svc.test/",
    "http://svc.test/api",
    "http://svc.test/api/v1/",
    "https://svc.test:8443/api",
    "http://[::1]:8000/base/",
    "http://127.0.0.1:8000/a%20b/",
]
PATHS = [
    "/",
    "/products/",
    "/products/1/",
    f"/files/{path_param('a b/c?d#e')}/",
    f"/users/{path_param('zoë')}/",
    "/search/?q=x",
    "/%7Euser/",
]


class Echo(SyncClient):
    service_name = "echo"


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("path", PATHS)
def test_the_url_called_is_the_one_httpx_merges(base: str, path: str) -> None:
    seen: list[httpx.URL] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json={})

    plain = httpx.Client(base_url=base)
    expected = plain.build_request("GET", path).url
    with_params = plain.build_request("GET", path, params={"page": 2}).url
    with Echo(base_url=base, transport=httpx.MockTransport(answer)) as client:
        client.request("GET", path, cast_to=dict)
        client.request("GET", path, cast_to=dict, params={"page": 2})
    assert seen[0] == expected
    assert str(seen[0]) == str(expected)
    assert seen[1] == with_params
    assert str(seen[1]) == str(with_params)


def test_an_absolute_url_is_called_as_it_is() -> None:
    seen: list[httpx.URL] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json={})

    with Echo(base_url="http://svc.test/api/", transport=httpx.MockTransport(answer)) as client:
        client.request("GET", "http://other.test/next/?cursor=abc", cast_to=dict)
    assert str(seen[0]) == "http://other.test/next/?cursor=abc"
