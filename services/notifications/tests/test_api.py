"""The notifications API: the caller's own notifications, behind a token with the right scope;
every error is RFC 9457 problem details."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from notifications.models import Notification
from tests.conftest import token

pytestmark = pytest.mark.django_db


def _notify(user_id: str, order_id: int) -> Notification:
    return Notification.objects.create(
        user_id=user_id,
        order_id=order_id,
        kind=Notification.Kind.ORDER_PLACED,
        message=f"order {order_id} placed",
        event_id=f"event-{order_id}",
    )


def problem(response: Any, code: str) -> dict[str, Any]:
    """The problem details body of an error answer, checked to be of the type of `code`."""
    assert response["Content-Type"] == "application/problem+json", response.content
    body: dict[str, Any] = json.loads(response.content)
    assert body["type"] == f"https://commons.invalid/problems/{code}", body
    assert body["status"] == response.status_code
    return body


def _get(path: str, bearer: str | None = None, **headers: str) -> Any:
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    return Client().get(path, headers=headers)


def test_the_list_holds_only_the_callers_notifications_newest_first() -> None:
    first, second = _notify("7", 1), _notify("7", 2)
    _notify("8", 3)
    response = _get("/api/notifications/", token("7"))
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [item["id"] for item in body["results"]] == [second.pk, first.pk]
    assert body["results"][0] == {
        "id": second.pk,
        "user_id": "7",
        "order_id": 2,
        "kind": "order_placed",
        "message": "order 2 placed",
        "event_id": "event-2",
        "created_at": body["results"][0]["created_at"],
    }


def test_the_list_is_paginated_by_50() -> None:
    for order_id in range(51):
        _notify("7", order_id)
    first = _get("/api/notifications/", token("7")).json()
    assert (first["count"], len(first["results"])) == (51, 50)
    assert first["next"].endswith("?page=2")
    assert len(_get("/api/notifications/?page=2", token("7")).json()["results"]) == 1
    missing = _get("/api/notifications/?page=3", token("7"))
    assert missing.status_code == 404
    assert problem(missing, "not_found")["detail"] == "Invalid page."


def test_a_notification_of_the_caller_is_answered_another_users_is_not_found() -> None:
    own, other = _notify("7", 1), _notify("8", 2)
    assert _get(f"/api/notifications/{own.pk}/", token("7")).json()["order_id"] == 1
    for path in (f"/api/notifications/{other.pk}/", "/api/notifications/999999/"):
        response = _get(path, token("7"))
        assert response.status_code == 404
        assert problem(response, "not_found")["instance"] == path


@pytest.mark.parametrize("pk", ["abc", "99999999999999999999999", "-1"])
def test_ids_that_are_not_ids_are_not_found(pk: str) -> None:
    response = _get(f"/api/notifications/{pk}/", token("7"))
    assert response.status_code == 404
    problem(response, "not_found")


def test_without_a_token_the_answer_is_401_with_a_bearer_challenge() -> None:
    response = _get("/api/notifications/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    problem(response, "not_authenticated")


@pytest.mark.parametrize(
    ("bearer", "reason"),
    [
        ("not-a-jwt", "malformed"),
        (token("7", aud="orders"), "wrong_audience"),
    ],
)
def test_a_bad_token_is_401_naming_the_reason(bearer: str, reason: str) -> None:
    response = _get("/api/notifications/", bearer)
    assert response.status_code == 401
    assert problem(response, "invalid_token")["reason"] == reason


def test_a_token_without_notifications_read_is_403() -> None:
    notification = _notify("7", 1)
    for path in ("/api/notifications/", f"/api/notifications/{notification.pk}/"):
        response = _get(path, token("7", scopes=("orders:read",)))
        assert response.status_code == 403
        assert problem(response, "insufficient_scope")["scope"] == "notifications:read"
        assert 'error="insufficient_scope"' in response["WWW-Authenticate"]


def test_an_unknown_path_is_a_404_problem() -> None:
    response = _get("/nope/", token("7"))
    assert response.status_code == 404
    assert problem(response, "not_found")["instance"] == "/nope/"


def test_the_request_id_is_echoed_and_logged(records: list[dict[str, Any]]) -> None:
    _notify("7", 1)
    response = _get("/api/notifications/", token("7"), **{"X-Request-ID": "req-list-1"})
    assert response["X-Request-ID"] == "req-list-1"
    [line] = [line for line in records if line["message"] == "notifications listed"]
    assert (line["request_id"], line["user_id"], line["count"]) == ("req-list-1", "7", 1)


def test_the_schema_is_public_and_declares_the_bearer_scheme() -> None:
    response = _get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    operations = {
        operation["operationId"]: operation
        for item in schema["paths"].values()
        for operation in item.values()
    }
    assert set(operations) == {"notifications_list", "notifications_retrieve"}
    for operation in operations.values():
        assert operation["security"] == [{"bearerAuth": []}]
        assert {"200", "400", "401", "403", "404"} <= set(operation["responses"])
