"""/api/users/: 401 without a token, 403 without the scope, 400 naming fields, never a 500; every
error is RFC 9457 problem details."""

from __future__ import annotations

from typing import Any

from tests.conftest import PASSWORD, post_form, problem


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def user_token(client: Any, **extra: str) -> str:
    form = {"grant_type": "password", "username": "alice", "password": PASSWORD, **extra}
    response = post_form(client, "/o/token/", form)
    assert response.status_code == 200, response.content
    return str(response.json()["access_token"])


def test_retrieve_answers_the_contract_fields(client, alice, orders_token) -> None:
    response = client.get(f"/api/users/{alice.pk}/", **bearer(orders_token))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "username", "email", "display_name", "is_active", "date_joined"}
    assert body["id"] == alice.pk
    assert body["display_name"] == "Alice A"
    assert body["is_active"] is True


def test_without_a_token_every_endpoint_answers_401(client, alice) -> None:
    for path in ("/api/users/", f"/api/users/{alice.pk}/", "/api/users/me/"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert problem(response, "not_authenticated")["instance"] == path


def test_a_bad_token_is_401_with_the_reason(client, db) -> None:
    response = client.get("/api/users/1/", **bearer("abc.def.ghi"))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    assert problem(response, "invalid_token")["reason"] == "malformed_json"


def test_without_the_scope_the_answer_is_403(client, alice) -> None:
    token = user_token(client, scope="orders:read")
    response = client.get(f"/api/users/{alice.pk}/", **bearer(token))
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response["WWW-Authenticate"]
    assert problem(response, "insufficient_scope")["scope"] == "users:read"


def test_an_unknown_or_malformed_id_is_404_in_json(client, db, orders_token) -> None:
    for path in ("/api/users/999/", "/api/users/99999999999999999999999/", "/api/users/abc/"):
        response = client.get(path, **bearer(orders_token))
        assert response.status_code == 404, path
        assert problem(response, "not_found")["instance"] == path


def test_list_is_paginated(client, alice, orders_token) -> None:
    body = client.get("/api/users/", **bearer(orders_token)).json()
    assert body["count"] == 1
    assert [user["username"] for user in body["results"]] == ["alice"]


def test_me_is_the_token_user_even_without_users_read(client, alice) -> None:
    token = user_token(client, scope="orders:read")
    response = client.get("/api/users/me/", **bearer(token))
    assert response.status_code == 200
    assert response.json()["id"] == alice.pk


def test_me_with_a_service_token_is_404(client, db, orders_token) -> None:
    assert client.get("/api/users/me/", **bearer(orders_token)).status_code == 404


def test_create_needs_users_write(client, db, orders_token) -> None:
    body = {"username": "bob", "email": "bob@example.com", "password": "another good one"}
    response = client.post(
        "/api/users/", body, content_type="application/json", **bearer(orders_token)
    )
    assert response.status_code == 403


def test_create_makes_a_user_who_can_log_in(client, db, admin_token) -> None:
    body = {
        "username": "bob",
        "email": "bob@example.com",
        "display_name": "Bob",
        "password": "another good one",
    }
    response = client.post(
        "/api/users/", body, content_type="application/json", **bearer(admin_token)
    )
    assert response.status_code == 201
    assert response.json()["display_name"] == "Bob"
    assert "password" not in response.json()
    login = post_form(
        client,
        "/o/token/",
        {"grant_type": "password", "username": "bob", "password": "another good one"},
    )
    assert login.status_code == 200


def test_bad_input_is_400_naming_each_field(client, alice, admin_token) -> None:
    cases = [
        (
            {"username": "alice", "email": "a@example.com", "password": "another good one"},
            "username",
        ),
        ({"username": "b b", "email": "b@example.com", "password": "another good one"}, "username"),
        ({"username": "bob", "email": "nope", "password": "another good one"}, "email"),
        ({"username": "bob", "email": "b@example.com", "password": "123"}, "password"),
        ({"username": None, "email": "b@example.com", "password": "x"}, "username"),
        ({"email": "b@example.com", "password": "another good one"}, "username"),
    ]
    for body, field in cases:
        response = client.post(
            "/api/users/", body, content_type="application/json", **bearer(admin_token)
        )
        assert response.status_code == 400, body
        errors = problem(response, "validation_error")["errors"]
        assert f"#/{field}" in [error["pointer"] for error in errors], (body, errors)


def test_a_body_that_is_not_json_is_400(client, db, admin_token) -> None:
    response = client.post(
        "/api/users/", "{", content_type="application/json", **bearer(admin_token)
    )
    assert response.status_code == 400
    assert problem(response, "parse_error")["detail"].startswith("JSON parse error")


def test_a_body_nested_too_deep_is_400_not_a_crash(client, db, admin_token) -> None:
    nested = "[" * 1000 + "]" * 1000
    response = client.post(
        "/api/users/", nested, content_type="application/json", **bearer(admin_token)
    )
    assert response.status_code == 400
    problem(response, "nesting_too_deep")


def test_a_10_mb_body_is_413(client, db, admin_token) -> None:
    body = '{"username": "' + "x" * 10_000_000 + '"}'
    response = client.post(
        "/api/users/", body, content_type="application/json", **bearer(admin_token)
    )
    assert response.status_code == 413
    problem(response, "payload_too_large")
    form = "grant_type=password&username=" + "x" * 10_000_000
    response = client.post("/o/token/", form, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    problem(response, "payload_too_large")


def test_an_unknown_path_is_a_not_found_problem(client, db) -> None:
    response = client.get("/nowhere/")
    assert response.status_code == 404
    assert problem(response, "not_found")["instance"] == "/nowhere/"
