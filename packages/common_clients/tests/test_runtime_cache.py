"""HTTPCache: a client built with ``cache=`` serves fresh answers from memory and revalidates
stale ones (RFC 9111); without it every call is sent. Against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gzip
import json
from typing import Any

import httpx
import pytest

from common_clients import AsyncClient, HTTPCache, SyncClient

STATUS = "common_clients.cache"


def _get(client: SyncClient, path: str, **headers: str) -> httpx.Response:
    return client._http.get(path, headers=headers)


def _client(loopback: Any, cache: HTTPCache | None = None, **kwargs: Any) -> SyncClient:
    return SyncClient(base_url=loopback.url, cache=cache, max_retries=0, **kwargs)


def test_without_a_cache_every_call_is_sent(loopback: Any) -> None:
    loopback.route(
        "GET", "/u/1/", loopback.reply(200, {"id": 1}, headers={"Cache-Control": "max-age=60"})
    )
    with _client(loopback) as client:
        assert client.cache is None
        for _ in range(3):
            assert client.request("GET", "/u/1/", cast_to=dict[str, Any]) == {"id": 1}
    assert len(loopback.hits("GET", "/u/1/")) == 3


def test_a_fresh_answer_is_served_from_memory_with_its_age(loopback: Any) -> None:
    loopback.route(
        "GET",
        "/u/1/",
        loopback.reply(200, {"id": 1}, headers={"Cache-Control": "max-age=60", "ETag": '"a"'}),
    )
    with _client(loopback, HTTPCache()) as client:
        first = _get(client, "/u/1/")
        second = _get(client, "/u/1/")
        other = _get(client, "/u/1/?x=1")
    assert first.extensions[STATUS] == "miss"
    assert second.extensions[STATUS] == "hit"
    assert second.json() == {"id": 1}
    assert second.headers["Age"] == "0"
    assert second.headers["ETag"] == '"a"'
    assert other.extensions[STATUS] == "miss"  # another URL is another entry
    assert [r.query for r in loopback.hits("GET", "/u/1/")] == ["", "x=1"]


def test_a_stale_answer_is_revalidated_with_if_none_match_and_a_304_serves_the_body(
    loopback: Any,
) -> None:
    def answer(received: Any) -> Any:
        if received.headers.get("if-none-match") == '"v1"':
            return loopback.reply(304, b"", headers={"ETag": '"v1"', "Cache-Control": "max-age=0"})
        return loopback.reply(
            200, {"id": 1, "v": 1}, headers={"ETag": '"v1"', "Cache-Control": "max-age=0"}
        )

    loopback.route("GET", "/u/1/", answer)
    with _client(loopback, HTTPCache()) as client:
        first = _get(client, "/u/1/")
        second = _get(client, "/u/1/")
        parsed = client.request("GET", "/u/1/", cast_to=dict[str, Any])
    sent = loopback.hits("GET", "/u/1/")
    assert "if-none-match" not in sent[0].headers
    assert sent[1].headers["if-none-match"] == '"v1"'
    assert first.extensions[STATUS] == "miss"
    assert second.status_code == 200
    assert second.extensions[STATUS] == "revalidated"
    assert second.json() == {"id": 1, "v": 1}
    assert parsed == {"id": 1, "v": 1}


def test_a_changed_answer_replaces_the_stored_one(loopback: Any) -> None:
    loopback.route(
        "GET",
        "/u/1/",
        [
            loopback.reply(200, {"v": 1}, headers={"ETag": '"v1"', "Cache-Control": "no-cache"}),
            loopback.reply(200, {"v": 2}, headers={"ETag": '"v2"', "Cache-Control": "no-cache"}),
            loopback.reply(304, b"", headers={"ETag": '"v2"'}),
        ],
    )
    with _client(loopback, HTTPCache()) as client:
        bodies = [_get(client, "/u/1/").json() for _ in range(3)]
    assert bodies == [{"v": 1}, {"v": 2}, {"v": 2}]
    sent = loopback.hits("GET", "/u/1/")
    assert [r.headers.get("if-none-match") for r in sent] == [None, '"v1"', '"v2"']


@pytest.mark.parametrize(
    "headers",
    [
        {"Cache-Control": "no-store, max-age=60"},
        {"Cache-Control": "max-age=60", "Vary": "*"},
        {},  # nothing says it may be reused
    ],
)
def test_answers_that_may_not_be_reused_are_not(loopback: Any, headers: dict[str, str]) -> None:
    loopback.route("GET", "/u/1/", loopback.reply(200, {"id": 1}, headers=headers))
    cache = HTTPCache()
    with _client(loopback, cache) as client:
        _get(client, "/u/1/")
        assert _get(client, "/u/1/").extensions[STATUS] == "miss"
    assert len(cache) == 0


def test_errors_are_not_stored(loopback: Any) -> None:
    loopback.route(
        "GET",
        "/u/1/",
        loopback.reply(500, {"detail": "x"}, headers={"Cache-Control": "max-age=60"}),
    )
    cache = HTTPCache()
    with _client(loopback, cache) as client:
        _get(client, "/u/1/")
        _get(client, "/u/1/")
    assert len(loopback.hits("GET", "/u/1/")) == 2
    assert len(cache) == 0


def test_vary_keeps_one_answer_per_authorization(loopback: Any) -> None:
    loopback.route(
        "GET",
        "/u/1/",
        lambda received: loopback.reply(
            200,
            {"who": received.headers.get("authorization")},
            headers={"Cache-Control": "max-age=60", "Vary": "Authorization"},
        ),
    )
    with _client(loopback, HTTPCache()) as client:
        a = _get(client, "/u/1/", Authorization="Bearer a").json()
        b = _get(client, "/u/1/", Authorization="Bearer b").json()
        a_again = _get(client, "/u/1/", Authorization="Bearer a")
        b_again = _get(client, "/u/1/", Authorization="Bearer b")
    assert (a, b) == ({"who": "Bearer a"}, {"who": "Bearer b"})
    assert a_again.json() == a
    assert a_again.extensions[STATUS] == "hit"
    assert b_again.json() == b
    assert b_again.extensions[STATUS] == "hit"
    assert len(loopback.hits("GET", "/u/1/")) == 2


def test_the_request_may_ask_for_revalidation_or_no_store(loopback: Any) -> None:
    loopback.route(
        "GET",
        "/u/1/",
        loopback.reply(200, {"id": 1}, headers={"Cache-Control": "max-age=60", "ETag": '"a"'}),
    )
    with _client(loopback, HTTPCache()) as client:
        _get(client, "/u/1/")
        no_cache = _get(client, "/u/1/", **{"Cache-Control": "no-cache"})
        no_store = _get(client, "/u/1/", **{"Cache-Control": "no-store"})
        own_conditional = _get(client, "/u/1/", **{"If-None-Match": '"mine"'})
    sent = loopback.hits("GET", "/u/1/")
    assert len(sent) == 4
    assert sent[1].headers["if-none-match"] == '"a"'
    assert no_cache.extensions[STATUS] == "miss"  # the server answered 200 again
    assert STATUS not in no_store.extensions
    assert sent[3].headers["if-none-match"] == '"mine"'  # the caller's own, untouched
    assert STATUS not in own_conditional.extensions


def test_a_successful_unsafe_request_drops_the_stored_answer(loopback: Any) -> None:
    loopback.route(
        "GET", "/u/1/", loopback.reply(200, {"id": 1}, headers={"Cache-Control": "max-age=60"})
    )
    loopback.route("PATCH", "/u/1/", loopback.reply(200, {"id": 1}))
    cache = HTTPCache()
    with _client(loopback, cache) as client:
        _get(client, "/u/1/")
        assert len(cache) == 1
        client.request("PATCH", "/u/1/", body={"name": "x"}, cast_to=dict[str, Any])
        assert len(cache) == 0
        assert _get(client, "/u/1/").extensions[STATUS] == "miss"


def test_the_store_is_bounded_in_entries_and_body_size(loopback: Any) -> None:
    headers = {"Cache-Control": "max-age=60"}
    for n in range(3):
        loopback.route("GET", f"/u/{n}/", loopback.reply(200, {"id": n}, headers=headers))
    loopback.route("GET", "/big/", loopback.reply(200, b"x" * 5000, headers=headers))
    cache = HTTPCache(max_entries=2, max_body_bytes=4096)
    with _client(loopback, cache) as client:
        for n in range(3):
            _get(client, f"/u/{n}/")
        assert len(cache) == 2
        assert _get(client, "/u/0/").extensions[STATUS] == "miss"  # the oldest went first
        assert _get(client, "/u/2/").extensions[STATUS] == "hit"
        big = _get(client, "/big/")
        assert big.content == b"x" * 5000
        assert _get(client, "/big/").extensions[STATUS] == "miss"


def test_a_compressed_answer_is_stored_as_sent_and_served_decoded(loopback: Any) -> None:
    body = gzip.compress(json.dumps({"id": 1}).encode())
    loopback.route(
        "GET",
        "/u/1/",
        loopback.reply(
            200,
            body,
            headers={
                "Content-Encoding": "gzip",
                "Content-Type": "application/json",
                "Cache-Control": "max-age=60",
            },
        ),
    )
    with _client(loopback, HTTPCache()) as client:
        assert client.request("GET", "/u/1/", cast_to=dict[str, Any]) == {"id": 1}
        assert client.request("GET", "/u/1/", cast_to=dict[str, Any]) == {"id": 1}
    assert len(loopback.hits("GET", "/u/1/")) == 1


def test_bad_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        HTTPCache(max_entries=0)
    with pytest.raises(ValueError, match="max_body_bytes"):
        HTTPCache(max_body_bytes=-1)


def test_the_async_client_caches_and_revalidates_the_same_way(loopback: Any) -> None:
    loopback.route(
        "GET",
        "/u/1/",
        [
            loopback.reply(200, {"id": 1}, headers={"ETag": '"a"', "Cache-Control": "max-age=0"}),
            loopback.reply(304, b"", headers={"ETag": '"a"', "Cache-Control": "max-age=60"}),
        ],
    )

    async def run() -> list[str]:
        async with AsyncClient(base_url=loopback.url, cache=HTTPCache()) as client:
            statuses = []
            for _ in range(3):
                response = await client._http.get("/u/1/")
                assert response.json() == {"id": 1}
                statuses.append(response.extensions[STATUS])
            return statuses

    assert asyncio.run(run()) == ["miss", "revalidated", "hit"]
    assert len(loopback.hits("GET", "/u/1/")) == 2


def test_threads_share_one_cache(loopback: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    for n in range(4):
        loopback.route(
            "GET",
            f"/u/{n}/",
            loopback.reply(200, {"id": n}, headers={"Cache-Control": "max-age=60"}),
        )
    cache = HTTPCache(max_entries=3)
    with _client(loopback, cache) as client, ThreadPoolExecutor(8) as pool:
        paths = [f"/u/{n % 4}/" for n in range(200)]
        bodies = list(pool.map(lambda path: _get(client, path).json(), paths))
    assert bodies == [{"id": n % 4} for n in range(200)]
    assert len(cache) == 3
