"""The orders API against the real users service: place, list, read; 400/401/403/404/413/503,
every error as RFC 9457 problem details."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from common_utils.django.models import OutboxMessage
from django.test import Client, override_settings

from orders.models import Order
from tests.conftest import DEAD_URL, bearer

pytestmark = pytest.mark.django_db


def problem(response: Any, code: str) -> dict[str, Any]:
    """The problem details body of an error answer, checked to be of the type of `code`."""
    assert response["Content-Type"] == "application/problem+json", response.content
    body: dict[str, Any] = json.loads(response.content)
    assert body["type"] == f"https://commons.invalid/problems/{code}", body
    assert body["status"] == response.status_code
    return body


def place(client: Client, token: str, body: object) -> Any:
    return client.post(
        "/api/orders/",
        json.dumps(body),
        content_type="application/json",
        **bearer(token),
    )


def test_placing_an_order_looks_the_user_up_and_writes_the_event_with_it(
    client: Client, tokens: dict[str, str], users_service: Path
) -> None:
    response = client.post(
        "/api/orders/",
        {"product": "saw", "quantity": 2},
        content_type="application/json",
        headers={"X-Request-ID": "place-order-1"},
        **bearer(tokens["alice"]),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["product"] == "saw"
    assert body["quantity"] == 2
    assert body["status"] == "placed"
    assert body["owner_email"] == "alice@example.com"
    assert body["owner_name"] == "Alice"
    assert body["owner"]["username"] == "alice"
    assert body["owner"]["is_active"] is True
    assert response["X-Request-ID"] == "place-order-1"

    (row,) = OutboxMessage.objects.all()
    assert row.event_type == "orders.order_placed.v1"
    event = json.loads(row.payload)
    assert event["requestid"] == "place-order-1"
    assert event["subject"] == f"order/{body['id']}"
    assert (event["partitionkey"], event["keysequence"]) == (str(body["id"]), 1)
    assert (row.aggregate_key, row.key_sequence) == (str(body["id"]), 1)
    assert event["data"] == {
        "order_id": body["id"],
        "owner_id": body["owner_id"],
        "owner_email": "alice@example.com",
        "owner_name": "Alice",
        "product": "saw",
        "quantity": 2,
        "placed_at": body["placed_at"],
    }
    # The users call travelled with the same request id.
    lookups = [
        json.loads(line)
        for line in users_service.read_text().splitlines()
        if line.startswith("{") and '"user looked up"' in line
    ]
    assert any(line["request_id"] == "place-order-1" for line in lookups)


def test_the_list_holds_the_callers_own_orders_with_their_owner(
    client: Client, tokens: dict[str, str]
) -> None:
    for product in ("saw", "drill"):
        assert (
            place(client, tokens["alice"], {"product": product, "quantity": 1}).status_code == 201
        )
    assert place(client, tokens["bob"], {"product": "hammer", "quantity": 1}).status_code == 201

    response = client.get("/api/orders/", **bearer(tokens["alice"]))
    assert response.status_code == 200
    page = response.json()
    assert page["count"] == 2
    assert [order["product"] for order in page["results"]] == ["drill", "saw"]
    assert {order["owner"]["username"] for order in page["results"]} == {"alice"}


def test_another_users_order_is_not_found(client: Client, tokens: dict[str, str]) -> None:
    placed = place(client, tokens["alice"], {"product": "saw", "quantity": 1})
    order_id = placed.json()["id"]

    mine = client.get(f"/api/orders/{order_id}/", **bearer(tokens["alice"]))
    assert mine.status_code == 200
    assert mine.json()["id"] == order_id

    theirs = client.get(f"/api/orders/{order_id}/", **bearer(tokens["bob"]))
    assert theirs.status_code == 404
    assert problem(theirs, "not_found")["instance"] == f"/api/orders/{order_id}/"
    malformed = client.get("/api/orders/abc/", **bearer(tokens["bob"]))
    assert malformed.status_code == 404
    problem(malformed, "not_found")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"product": "saw", "quantity": 0}, "quantity"),
        ({"product": "saw", "quantity": 101}, "quantity"),
        ({"product": "saw", "quantity": "many"}, "quantity"),
        ({"product": "saw"}, "quantity"),
        ({"quantity": 1}, "product"),
        ({"product": "", "quantity": 1}, "product"),
        ({"product": "x" * 201, "quantity": 1}, "product"),
        (["saw", 1], ""),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    client: Client, tokens: dict[str, str], body: object, field: str
) -> None:
    response = place(client, tokens["alice"], body)
    assert response.status_code == 400
    errors = problem(response, "validation_error")["errors"]
    assert f"#/{field}".rstrip("/") in [error["pointer"] for error in errors], errors
    assert not Order.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_a_body_that_is_not_json_is_a_400(client: Client, tokens: dict[str, str]) -> None:
    response = client.post(
        "/api/orders/", "{nope", content_type="application/json", **bearer(tokens["alice"])
    )
    assert response.status_code == 400
    problem(response, "parse_error")


def test_a_body_nested_too_deep_is_a_400_not_a_500(client: Client, tokens: dict[str, str]) -> None:
    nested = "[" * 1000 + "]" * 1000
    response = client.post(
        "/api/orders/", nested, content_type="application/json", **bearer(tokens["alice"])
    )
    assert response.status_code == 400
    assert "64" in problem(response, "nesting_too_deep")["detail"]
    assert not Order.objects.exists()


def test_a_10_mb_body_is_a_413(client: Client, tokens: dict[str, str]) -> None:
    body = json.dumps({"product": "x" * 10_000_000, "quantity": 1})
    response = client.post(
        "/api/orders/", body, content_type="application/json", **bearer(tokens["alice"])
    )
    assert response.status_code == 413
    problem(response, "payload_too_large")
    assert not Order.objects.exists()


def test_an_unknown_path_is_a_404_problem(client: Client, tokens: dict[str, str]) -> None:
    response = client.get("/api/nothing-here/", **bearer(tokens["alice"]))
    assert response.status_code == 404
    problem(response, "not_found")


def test_without_a_token_every_endpoint_answers_401(client: Client, users_service: Path) -> None:
    for method, path in (
        ("get", "/api/orders/"),
        ("post", "/api/orders/"),
        ("get", "/api/orders/1/"),
    ):
        response = getattr(client, method)(path)
        assert response.status_code == 401, path
        problem(response, "not_authenticated")
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_token_without_the_scope_is_a_403(client: Client, tokens: dict[str, str]) -> None:
    response = place(client, tokens["alice-read-only"], {"product": "saw", "quantity": 1})
    assert response.status_code == 403
    assert problem(response, "insufficient_scope")["scope"] == "orders:write"
    assert client.get("/api/orders/", **bearer(tokens["alice-read-only"])).status_code == 200


def test_an_inactive_user_cannot_place_an_order(client: Client, tokens: dict[str, str]) -> None:
    response = place(client, tokens["carol"], {"product": "saw", "quantity": 1})
    assert response.status_code == 403
    assert problem(response, "user_not_allowed") == {
        "type": "https://commons.invalid/problems/user_not_allowed",
        "title": "Forbidden",
        "status": 403,
        "detail": f"user {_sub(tokens['carol'])} is inactive",
        "instance": "/api/orders/",
        "request_id": response["X-Request-ID"],
    }
    assert not Order.objects.exists()


def test_users_down_is_a_503_not_a_500(client: Client, tokens: dict[str, str]) -> None:
    with override_settings(USERS_URL=DEAD_URL):
        response = place(client, tokens["alice"], {"product": "saw", "quantity": 1})
    assert response.status_code == 503
    problem(response, "users_unavailable")
    assert response["Retry-After"] == "5"
    assert not Order.objects.exists()


def test_the_token_endpoint_down_is_a_503(
    client: Client, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USERS_TOKEN_URL", f"{DEAD_URL}/o/token/")
    response = place(client, tokens["alice"], {"product": "saw", "quantity": 1})
    assert response.status_code == 503
    problem(response, "users_unavailable")


def test_the_inprocess_lookup_answers_the_same_without_asking_users(
    client: Client, tokens: dict[str, str]
) -> None:
    with override_settings(ORDERS_USERS_LOOKUP="inprocess", USERS_URL=DEAD_URL):
        response = place(client, tokens["alice"], {"product": "saw", "quantity": 3})
        listed = client.get("/api/orders/", **bearer(tokens["alice"]))
    assert response.status_code == 201
    body = response.json()
    assert body["owner"]["username"] == "alice"
    assert body["owner_id"] == _sub(tokens["alice"])
    assert listed.status_code == 200
    assert OutboxMessage.objects.count() == 1


def _sub(token: str) -> str:
    import base64

    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["sub"])


def test_users_answers_are_cached_as_users_allows(
    client: Client, tokens: dict[str, str], users_service: Path
) -> None:
    from orders.owners import users_client

    assert place(client, tokens["alice"], {"product": "saw", "quantity": 1}).status_code == 201
    # The same lookup again, as the view made it: users' Cache-Control lets orders reuse it.
    again = users_client().with_raw_response.users.retrieve(id=int(_sub(tokens["alice"])))
    assert again.http_response.extensions["common_clients.cache"] == "hit"
    assert "max-age=" in again.http_response.headers["Cache-Control"]
    assert again.parsed.username == "alice"
    with override_settings(USERS_CACHE_SIZE=0):
        from orders.owners import close_users_client

        close_users_client()
        uncached = users_client().with_raw_response.users.retrieve(id=int(_sub(tokens["alice"])))
    assert "common_clients.cache" not in uncached.http_response.extensions
