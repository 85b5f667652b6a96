"""The runtime against a real server on 127.0.0.1, through a small hand-written client.

The client below is what the generator writes, by hand: it pins down the contract between
generated code and the runtime (``request``, ``request_page``, raw access) independently of it.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, ConfigDict

from common_clients import (
    NOT_GIVEN,
    AsyncClient,
    AsyncPage,
    CursorPagination,
    LimitOffsetPagination,
    PageNumberPagination,
    RawResponse,
    RetryPolicy,
    SyncClient,
    SyncPage,
    __version__,
)
from common_clients._response import to_async_raw_response, to_raw_response
from common_clients.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ClientError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    UnprocessableEntityError,
)
from common_utils import request_context


class Pet(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int
    name: str


class PetRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str
    tag: str | None = None


class PaginatedPetList(BaseModel):
    count: int | None = None
    next: str | None = None
    previous: str | None = None
    results: list[Pet]


class PetsClient(SyncClient):
    service_name = "pets"

    def retrieve(self, *, id: int, **options: Any) -> Pet:  # noqa: A002 - the API's name
        return self.request(  # type: ignore[no-any-return]
            "GET", f"/pets/{id}/", operation="pets_retrieve", cast_to=Pet, **options
        )

    def create(self, *, body: PetRequest, **options: Any) -> Pet:
        return self.request(  # type: ignore[no-any-return]
            "POST", "/pets/", operation="pets_create", cast_to=Pet, body=body, **options
        )

    def list(self, *, pagination: Any = None, **params: Any) -> SyncPage[Pet]:
        return self.request_page(
            "GET",
            "/pets/",
            operation="pets_list",
            page_model=PaginatedPetList,
            pagination=pagination or PageNumberPagination(),
            params=params,
        )


class AsyncPetsClient(AsyncClient):
    service_name = "pets"

    async def retrieve(self, *, id: int, **options: Any) -> Pet:  # noqa: A002 - the API's name
        return await self.request(  # type: ignore[no-any-return]
            "GET", f"/pets/{id}/", operation="pets_retrieve", cast_to=Pet, **options
        )

    def list(self, **params: Any) -> Any:
        return self.request_page(
            "GET",
            "/pets/",
            operation="pets_list",
            page_model=PaginatedPetList,
            pagination=PageNumberPagination(),
            params=params,
        )


def _pages(loopback: Any, total: int, size: int) -> None:
    """``GET /pets/?page=N`` answering DRF page-number pages over ``total`` pets."""

    def page(received: Any) -> Any:
        number = int(dict(p.split("=") for p in received.query.split("&") if p).get("page", 1))
        start = (number - 1) * size
        results = [{"id": i, "name": f"pet {i}"} for i in range(start, min(total, start + size))]
        link = f"http://elsewhere.invalid/pets/?page={number + 1}"
        return loopback.reply(
            200,
            {
                "count": total,
                "next": link if start + size < total else None,
                "previous": None,
                "results": results,
            },
        )

    loopback.route("GET", "/pets/", page)


def test_retrieve_parses_the_model_and_sends_user_agent_and_request_id(loopback):
    loopback.route("GET", "/pets/7/", loopback.reply(200, {"id": 7, "name": "Rex", "new": 1}))
    with PetsClient(base_url=loopback.url) as client:
        pet = client.retrieve(id=7)
    assert pet == Pet(id=7, name="Rex")
    (sent,) = loopback.requests
    assert sent.headers["user-agent"] == f"common-clients/{__version__} pets"
    assert len(sent.headers["x-request-id"]) == 32


def test_the_current_request_id_travels_with_the_call(loopback):
    loopback.route("GET", "/pets/1/", loopback.reply(200, {"id": 1, "name": "a"}))
    with (
        PetsClient(base_url=loopback.url) as client,
        request_context(
            request_id="req-from-the-caller",
            traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ),
    ):
        # Without the call's own spans (this process may have the SDK installed by the
        # telemetry tests, which then send the attempt's traceparent: test_runtime_telemetry).
        client.telemetry = False
        client.retrieve(id=1)
    (sent,) = loopback.requests
    assert sent.headers["x-request-id"] == "req-from-the-caller"
    # The caller's trace goes on (under whatever span is current when the call is made).
    assert sent.headers["traceparent"].split("-")[1] == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_create_sends_the_body_by_alias_without_unset_fields(loopback):
    loopback.route("POST", "/pets/", loopback.reply(201, {"id": 3, "name": "Tom"}))
    with PetsClient(base_url=loopback.url) as client:
        pet = client.create(body=PetRequest(name="Tom"))
    assert pet.id == 3
    (sent,) = loopback.requests
    assert json.loads(sent.body) == {"name": "Tom"}
    assert sent.headers["content-type"] == "application/json"
    assert "idempotency-key" not in sent.headers


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (503, InternalServerError),
        (418, APIStatusError),
    ],
)
def test_error_statuses_raise_their_class_with_status_body_request_id_operation(
    loopback, status, error
):
    body = {"detail": "nope", "name": ["This field is required."]}
    loopback.route("GET", "/pets/1/", loopback.reply(status, body, headers={"X-Request-ID": "r1"}))
    with PetsClient(base_url=loopback.url, max_retries=0) as client, pytest.raises(error) as caught:
        client.retrieve(id=1)
    assert type(caught.value) is error
    assert caught.value.status_code == status
    assert caught.value.body == body
    assert caught.value.request_id == "r1"
    assert caught.value.operation == "pets_retrieve"
    assert "pets_retrieve" in str(caught.value)
    assert "nope" in str(caught.value)


def test_a_body_that_does_not_match_names_operation_and_field_path(loopback):
    loopback.route(
        "GET",
        "/pets/",
        loopback.reply(200, {"count": 1, "next": None, "results": [{"id": "x", "name": "a"}]}),
    )
    with (
        PetsClient(base_url=loopback.url) as client,
        pytest.raises(ResponseValidationError) as caught,
    ):
        client.list()
    assert caught.value.operation == "pets_list"
    assert caught.value.field_path == "results.0.id"
    assert "results.0.id" in str(caught.value)


def test_get_is_retried_on_503_until_it_succeeds(loopback):
    loopback.route(
        "GET",
        "/pets/1/",
        [loopback.reply(503), loopback.reply(502), loopback.reply(200, {"id": 1, "name": "a"})],
    )
    policy = RetryPolicy(max_retries=2, initial_backoff=0.01)
    with PetsClient(base_url=loopback.url, retry_policy=policy) as client:
        assert client.retrieve(id=1).name == "a"
    assert len(loopback.hits("GET", "/pets/1/")) == 3
    assert len({r.headers["x-request-id"] for r in loopback.requests}) == 1


def test_each_retry_is_logged_with_operation_reason_and_request_id(loopback, caplog):
    loopback.route(
        "GET", "/pets/1/", [loopback.reply(503), loopback.reply(200, {"id": 1, "name": "a"})]
    )
    policy = RetryPolicy(max_retries=1, initial_backoff=0.0)
    with (
        caplog.at_level("INFO", logger="common_clients"),
        PetsClient(base_url=loopback.url, retry_policy=policy) as client,
    ):
        client.retrieve(id=1)
    (record,) = caplog.records
    assert record.getMessage().startswith(
        f"retrying GET {loopback.url}/pets/1/ (pets_retrieve) in 0.00 s"
    )
    assert record.getMessage().endswith("attempt 2 of 2, after 503")
    assert record.request_id == loopback.requests[0].headers["x-request-id"]


def test_retries_stop_at_the_budget_and_raise_the_last_status(loopback):
    loopback.route("GET", "/pets/1/", loopback.reply(503))
    policy = RetryPolicy(max_retries=2, initial_backoff=0.01)
    with PetsClient(base_url=loopback.url, retry_policy=policy) as client:
        with pytest.raises(InternalServerError):
            client.retrieve(id=1)
        assert len(loopback.requests) == 3
        with pytest.raises(InternalServerError):
            client.retrieve(id=1, max_retries=0)
        assert len(loopback.requests) == 4


def test_post_is_retried_only_with_an_idempotency_key(loopback):
    created = loopback.reply(201, {"id": 1, "name": "a"})
    loopback.route("POST", "/pets/", [loopback.reply(503), loopback.reply(503), created])
    policy = RetryPolicy(max_retries=2, initial_backoff=0.01)
    with PetsClient(base_url=loopback.url, retry_policy=policy) as client:
        with pytest.raises(InternalServerError):
            client.create(body=PetRequest(name="a"))
        assert len(loopback.requests) == 1
        assert client.create(body=PetRequest(name="a"), idempotency_key=True).id == 1
    first, second = loopback.requests[1:]
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    assert len(first.headers["idempotency-key"]) == 32


def test_4xx_other_than_408_and_429_is_never_retried(loopback):
    loopback.route("GET", "/pets/1/", loopback.reply(404, {"detail": "Not found."}))
    with (
        PetsClient(base_url=loopback.url, retry_policy=RetryPolicy(initial_backoff=0)) as client,
        pytest.raises(NotFoundError),
    ):
        client.retrieve(id=1)
    assert len(loopback.requests) == 1


def test_page_number_listing_iterates_lazily_across_pages(loopback):
    _pages(loopback, total=5, size=2)
    with PetsClient(base_url=loopback.url) as client:
        page = client.list()
        assert [p.id for p in page.items] == [0, 1]
        assert page.count == 5
        assert len(loopback.requests) == 1
        assert [p.id for p in page] == [0, 1, 2, 3, 4]
    assert [r.query for r in loopback.requests] == ["", "page=2", "page=3"]


def test_listing_keeps_the_callers_filters_on_every_page(loopback):
    _pages(loopback, total=3, size=2)
    with PetsClient(base_url=loopback.url) as client:
        assert len(list(client.list(kind="cat", active=True))) == 3
    assert [r.query for r in loopback.requests] == [
        "kind=cat&active=true",
        "kind=cat&active=true&page=2",
    ]


def test_limit_offset_and_cursor_pages_follow_their_parameters(loopback):
    bodies = {
        "": {"next": "http://x/pets/?limit=2&offset=2", "results": [{"id": 1, "name": "a"}]},
        "limit=2&offset=2": {"next": None, "results": [{"id": 2, "name": "b"}]},
        "cursor=abc": {"next": None, "results": [{"id": 4, "name": "d"}]},
    }
    loopback.route("GET", "/pets/", lambda r: loopback.reply(200, bodies[r.query]))
    with PetsClient(base_url=loopback.url) as client:
        assert [p.id for p in client.list(pagination=LimitOffsetPagination())] == [1, 2]
        bodies[""] = {"next": "http://x/pets/?cursor=abc", "results": [{"id": 3, "name": "c"}]}
        assert [p.id for p in client.list(pagination=CursorPagination())] == [3, 4]


def test_raw_response_gives_the_http_response_beside_the_model(loopback):
    loopback.route(
        "GET",
        "/pets/2/",
        loopback.reply(200, {"id": 2, "name": "b"}, headers={"X-Request-ID": "q"}),
    )
    with PetsClient(base_url=loopback.url) as client:
        raw = to_raw_response(client.retrieve)(id=2)
    assert isinstance(raw, RawResponse)
    assert raw.parsed == Pet(id=2, name="b")
    assert raw.status_code == 200
    assert raw.request_id == "q"
    assert isinstance(raw.http_response, httpx.Response)


def test_timeouts_are_never_unbounded():
    with pytest.raises(ValueError, match="timeout is required"):
        PetsClient(base_url="http://127.0.0.1:1", timeout=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="read timeout is unbounded"):
        PetsClient(base_url="http://127.0.0.1:1", timeout=httpx.Timeout(5.0, read=None))
    with pytest.raises(ValueError, match="base_url must be an absolute http"):
        PetsClient(base_url="/relative")


def test_per_call_timeout_and_headers_override_the_clients(loopback):
    loopback.route("GET", "/pets/1/", loopback.reply(200, {"id": 1, "name": "a"}))
    with PetsClient(base_url=loopback.url, headers={"X-Team": "orders"}) as client:
        client.retrieve(id=1, timeout=NOT_GIVEN, extra_headers={"X-Extra": "1"})
        with pytest.raises(ValueError, match="pets_retrieve: timeout"):
            client.retrieve(id=1, timeout=None)
    (sent,) = loopback.requests
    assert sent.headers["x-team"] == "orders"
    assert sent.headers["x-extra"] == "1"


def test_auth_and_event_hooks_are_httpx_s_own(loopback):
    class Bearer(httpx.Auth):
        def auth_flow(self, request):
            request.headers["Authorization"] = "Bearer t0k"
            yield request

    seen: list[int] = []
    loopback.route("GET", "/pets/1/", loopback.reply(200, {"id": 1, "name": "a"}))
    hooks = {"response": [lambda response: seen.append(response.status_code)]}
    with PetsClient(base_url=loopback.url, auth=Bearer(), event_hooks=hooks) as client:
        client.retrieve(id=1)
    assert loopback.requests[0].headers["authorization"] == "Bearer t0k"
    assert seen == [200]


def test_async_client_retrieves_lists_and_maps_errors(loopback):
    _pages(loopback, total=3, size=2)
    loopback.route("GET", "/pets/1/", loopback.reply(200, {"id": 1, "name": "a"}))
    loopback.route("GET", "/pets/9/", loopback.reply(404, {"detail": "Not found."}))

    async def scenario() -> None:
        async with AsyncPetsClient(base_url=loopback.url) as client:
            assert (await client.retrieve(id=1)).name == "a"
            raw = await to_async_raw_response(client.retrieve)(id=1)
            assert raw.parsed.id == 1
            assert raw.http_response.status_code == 200
            with pytest.raises(NotFoundError) as caught:
                await client.retrieve(id=9)
            assert caught.value.operation == "pets_retrieve"
            first = await client.list()
            assert isinstance(first, AsyncPage)
            assert [p.id for p in first.items] == [0, 1]
            assert [p.id async for p in client.list()] == [0, 1, 2]

    asyncio.run(scenario())


def test_every_error_is_a_client_error():
    for error in (NotFoundError, ResponseValidationError, InternalServerError):
        assert issubclass(error, ClientError)
