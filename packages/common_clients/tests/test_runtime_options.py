"""Options per client, per derived client (``with_options``) and per call, against 127.0.0.1.

A derived client shares its parent's connection pool (the server sees both on one kept-alive
connection), carries its own timeout, retry budget, headers and credentials, and leaves the parent
as it was; per-call options win over both. The generated inventory client is derived the same way:
its resources bind to the derived client, not to the one they were first read from.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from common_clients import AsyncClient, RetryPolicy, SyncClient
from common_clients.errors import APITimeoutError, InternalServerError
from inventory_client import AsyncInventoryClient, InventoryClient

PET = {"id": 1, "name": "a"}
PRODUCT = {
    "id": 1,
    "sku": "A-1",
    "name": "Saw",
    "category": "tools",
    "price": "9.50",
    "quantity": 3,
    "notes": "",
    "created": "2026-01-31T10:00:00Z",
}


class Pet(BaseModel):
    id: int
    name: str


class PetsClient(SyncClient):
    service_name = "pets"

    def retrieve(self, **options: Any) -> Pet:
        return self.request(  # type: ignore[no-any-return]
            "GET", "/pets/1/", operation="pets_retrieve", cast_to=Pet, **options
        )


class AsyncPetsClient(AsyncClient):
    service_name = "pets"

    async def retrieve(self, **options: Any) -> Pet:
        return await self.request(  # type: ignore[no-any-return]
            "GET", "/pets/1/", operation="pets_retrieve", cast_to=Pet, **options
        )


class Bearer(httpx.Auth):
    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request: httpx.Request) -> Any:
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


NO_WAIT = RetryPolicy(max_retries=2, initial_backoff=0.0)


def test_a_derived_client_shares_the_pool_and_changes_only_what_it_is_given(loopback):
    loopback.route("GET", "/pets/1/", loopback.reply(200, PET))
    with PetsClient(
        base_url=loopback.url, headers={"X-Team": "orders"}, auth=Bearer("parent")
    ) as client:
        client.retrieve()
        derived = client.with_options(headers={"X-Extra": "1"}, auth=Bearer("derived"))
        assert isinstance(derived, PetsClient)
        assert derived.timeout == client.timeout
        assert derived.retry_policy == client.retry_policy
        assert derived.headers == {"X-Team": "orders", "X-Extra": "1"}
        derived.retrieve()
        derived.retrieve(extra_headers={"X-Extra": "per call"})
        client.retrieve()
        assert client.headers == {"X-Team": "orders"}
    first, second, third, fourth = loopback.requests
    assert len({r.peer for r in loopback.requests}) == 1  # one connection, kept alive, shared
    assert (first.headers.get("x-extra"), second.headers["x-extra"]) == (None, "1")
    assert third.headers["x-extra"] == "per call"
    assert "x-extra" not in fourth.headers
    assert {r.headers["x-team"] for r in loopback.requests} == {"orders"}
    assert [r.headers["authorization"] for r in loopback.requests] == [
        "Bearer parent",
        "Bearer derived",
        "Bearer derived",
        "Bearer parent",
    ]
    assert second.headers["user-agent"].endswith(" pets")


def test_a_derived_client_with_auth_none_sends_no_credentials(loopback):
    loopback.route("GET", "/pets/1/", loopback.reply(200, PET))
    with PetsClient(base_url=loopback.url, auth=Bearer("parent")) as client:
        client.with_options(auth=None).retrieve()
        client.retrieve()
    anonymous, authenticated = loopback.requests
    assert "authorization" not in anonymous.headers
    assert authenticated.headers["authorization"] == "Bearer parent"


def test_a_header_given_again_in_another_case_replaces_it_and_is_sent_once(loopback):
    loopback.route("POST", "/pets/", loopback.reply(201, PET))
    with PetsClient(base_url=loopback.url) as parent:
        client = parent.with_options(headers={"X-Team": "derived"})
        client.request(
            "POST",
            "/pets/",
            cast_to=Pet,
            body={"name": "a"},
            headers={"x-team": "parameter"},
            idempotency_key="generated-key",
            extra_headers={
                "x-request-id": "mine",
                "idempotency-key": "my-key",
                "content-type": "application/json; charset=utf-8",
            },
        )
    (sent,) = loopback.requests
    names = [name for name, _ in sent.header_list]
    assert len(names) == len(set(names)), sent.header_list
    assert sent.headers["x-team"] == "parameter"
    assert sent.headers["x-request-id"] == "mine"
    assert sent.headers["idempotency-key"] == "my-key"
    assert sent.headers["content-type"] == "application/json; charset=utf-8"


def test_a_derived_timeout_and_retry_budget_apply_to_its_calls_only(loopback):
    # A call timed out must never be answered: its reply waits until the server stops.
    loopback.route("GET", "/pets/2/", loopback.reply(200, PET, delay=60))
    loopback.route("GET", "/pets/1/", loopback.reply(200, PET, delay=0.3))
    with PetsClient(base_url=loopback.url, retry_policy=NO_WAIT) as client:
        quick = client.with_options(timeout=0.1, max_retries=0)
        assert quick.retry_policy == RetryPolicy(max_retries=0, initial_backoff=0.0)
        with pytest.raises(APITimeoutError):
            quick.request("GET", "/pets/2/", cast_to=Pet)
        assert len(loopback.requests) == 1  # not retried
        assert client.retrieve().id == 1  # 0.3 s: the parent's 30 s are untouched
        # A per-call timeout still beats the derived client's.
        assert quick.retrieve(timeout=5.0).id == 1


def test_a_timeout_set_on_the_client_after_construction_applies(loopback):
    # Calls hand httpx the pool's own timeout while the client keeps it: a timeout set later
    # (or derived) must still reach the wire.
    loopback.route("GET", "/pets/1/", loopback.reply(200, PET, delay=0.3))
    with PetsClient(base_url=loopback.url, retry_policy=NO_WAIT) as client:
        assert client.retrieve().id == 1
        client.timeout = httpx.Timeout(0.1)
        with pytest.raises(APITimeoutError):
            client.retrieve(max_retries=0)
        client.timeout = httpx.Timeout(5.0)
        assert client.retrieve().id == 1


def test_a_derived_retry_policy_and_per_call_budget(loopback):
    loopback.route("GET", "/pets/1/", [loopback.reply(503), loopback.reply(503)])
    with PetsClient(base_url=loopback.url, max_retries=0) as client:
        with pytest.raises(InternalServerError):
            client.retrieve()
        assert len(loopback.requests) == 1
        patient = client.with_options(retry_policy=NO_WAIT)
        with pytest.raises(InternalServerError):
            patient.retrieve()
        assert len(loopback.requests) == 4  # 1 + 3 attempts
        with pytest.raises(InternalServerError):
            patient.retrieve(max_retries=1)
        assert len(loopback.requests) == 6


def test_max_retries_beside_a_retry_policy_sets_its_budget(loopback):
    loopback.route("GET", "/pets/1/", loopback.reply(503))
    with (
        PetsClient(base_url=loopback.url, max_retries=0, retry_policy=NO_WAIT) as client,
        pytest.raises(InternalServerError),
    ):
        client.retrieve()
    assert client.max_retries == 0
    assert len(loopback.requests) == 1


def test_closing_a_derived_client_leaves_the_pool_open(loopback):
    loopback.route("GET", "/pets/1/", loopback.reply(200, PET))
    with PetsClient(base_url=loopback.url) as client:
        with client.with_options(timeout=5.0) as derived:
            derived.retrieve()
        assert client.retrieve().id == 1
    assert len({r.peer for r in loopback.requests}) == 1


def test_bad_options_are_refused_naming_the_option():
    client = PetsClient(base_url="http://127.0.0.1:1")
    with pytest.raises(ValueError, match=r"PetsClient.with_options\(timeout=...\): a timeout"):
        client.with_options(timeout=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="read timeout is unbounded"):
        client.with_options(timeout=httpx.Timeout(1.0, read=None))
    with pytest.raises(ValueError, match=r"with_options\(max_retries=...\): max_retries must"):
        client.with_options(max_retries=-1)
    client.close()
    with pytest.raises(ValueError, match=r"PetsClient\(max_retries=...\): max_retries must be"):
        PetsClient(base_url="http://127.0.0.1:1", max_retries=-1)


def test_the_async_client_derives_the_same_way(loopback):
    loopback.route("GET", "/pets/1/", loopback.reply(200, PET))
    loopback.route("GET", "/pets/2/", loopback.reply(200, PET, delay=60))  # never answered

    async def scenario() -> None:
        async with AsyncPetsClient(base_url=loopback.url, headers={"X-Team": "orders"}) as client:
            await client.retrieve()
            derived = client.with_options(timeout=0.1, max_retries=0, headers={"X-Extra": "1"})
            assert isinstance(derived, AsyncPetsClient)
            await derived.retrieve()
            with pytest.raises(APITimeoutError):
                await derived.request("GET", "/pets/2/", cast_to=Pet)
            async with derived:
                pass
            await client.retrieve()

    asyncio.run(scenario())
    first, second, slow, last = loopback.requests
    assert (first.headers.get("x-extra"), second.headers["x-extra"]) == (None, "1")
    assert slow.path == "/pets/2/"
    assert first.peer == second.peer
    assert "x-extra" not in last.headers


def test_a_derived_generated_client_binds_its_own_resources(loopback):
    loopback.route("GET", "/products/1/", loopback.reply(200, PRODUCT))
    with InventoryClient(base_url=loopback.url) as client:
        assert client.products.retrieve(id=1).sku == "A-1"  # caches the resource
        derived = client.with_options(headers={"X-Extra": "1"})
        assert derived.products is not client.products
        derived.products.retrieve(id=1)
        raw = derived.with_raw_response.products.retrieve(id=1)
        assert raw.parsed.category == "tools"
        client.products.retrieve(id=1)
    assert [r.headers.get("x-extra") for r in loopback.requests] == [None, "1", "1", None]


def test_a_derived_async_generated_client_binds_its_own_resources(loopback):
    loopback.route("GET", "/products/1/", loopback.reply(200, PRODUCT))

    async def scenario() -> None:
        async with AsyncInventoryClient(base_url=loopback.url) as client:
            await client.products.retrieve(id=1)
            await client.with_options(headers={"X-Extra": "1"}).products.retrieve(id=1)

    asyncio.run(scenario())
    assert [r.headers.get("x-extra") for r in loopback.requests] == [None, "1"]
