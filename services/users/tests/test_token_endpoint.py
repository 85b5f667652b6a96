"""POST /o/token/: the password grant for users, client credentials for service accounts."""

from __future__ import annotations

from typing import Any

import pytest
from common_auth import TokenVerifier
from common_auth.django import get_signing_keys

from tests.conftest import ISSUER, PASSWORD, SECRETS, post_form


def verify(token: str, audience: str) -> Any:
    verifier = TokenVerifier(issuer=ISSUER, audience=audience, keys=get_signing_keys())
    return verifier.verify(token)


def password_grant(client: Any, **extra: str) -> Any:
    form = {"grant_type": "password", "username": "alice", "password": PASSWORD, **extra}
    return post_form(client, "/o/token/", form)


def test_password_grant_gives_a_token_for_every_user_audience_and_scope(client, alice) -> None:
    response = password_grant(client)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert body["scope"] == "orders:read orders:write notifications:read users:read"
    for audience in ("orders", "notifications", "users"):
        claims = verify(body["access_token"], audience)
        assert claims.sub == str(alice.pk)
        assert claims.client_id is None
    extra = claims.model_extra or {}
    assert extra["preferred_username"] == "alice"
    assert extra["email"] == "alice@example.com"
    assert extra["name"] == "Alice A"


def test_password_grant_narrows_to_the_requested_scope_and_audience(client, alice) -> None:
    response = password_grant(client, scope="orders:read", audience="orders")
    assert response.status_code == 200
    claims = verify(response.json()["access_token"], "orders")
    assert claims.scopes == frozenset({"orders:read"})
    assert claims.aud in ("orders", ["orders"])


def test_wrong_password_and_unknown_user_get_the_same_answer(client, alice) -> None:
    wrong = password_grant(client, password="not it")
    unknown = password_grant(client, username="mallory")
    assert wrong.status_code == unknown.status_code == 400
    assert (
        wrong.json()
        == unknown.json()
        == {
            "error": "invalid_grant",
            "error_description": "wrong username or password",
        }
    )


def test_an_inactive_user_gets_invalid_grant(client, alice) -> None:
    alice.is_active = False
    alice.save()
    assert password_grant(client).json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"scope": "users:write"}, "invalid_scope"),
        ({"audience": "billing"}, "invalid_target"),
        ({"password": ""}, "invalid_request"),
        ({"grant_type": ""}, "invalid_request"),
        ({"grant_type": "implicit"}, "unsupported_grant_type"),
    ],
)
def test_refused_password_grants_name_the_rfc_6749_error(client, alice, form, error) -> None:
    response = password_grant(client, **form)
    assert response.status_code == 400
    assert response.json()["error"] == error


def test_a_json_body_is_an_invalid_request(client, db) -> None:
    response = client.post("/o/token/", {"grant_type": "password"}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_client_credentials_give_a_service_token(client, db) -> None:
    response = post_form(
        client,
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "users:read"},
        HTTP_AUTHORIZATION=_basic("orders", SECRETS["orders"]),
    )
    assert response.status_code == 200
    claims = verify(response.json()["access_token"], "users")
    assert claims.sub == claims.client_id == "orders"
    assert claims.scopes == frozenset({"users:read"})


def test_client_credentials_with_a_wrong_secret_are_refused(client, db) -> None:
    response = post_form(
        client,
        "/o/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=_basic("orders", "wrong"),
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_jwks_publishes_the_signing_key(client, db) -> None:
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert [key["kid"] for key in response.json()["keys"]] == [get_signing_keys().active.kid]


def _basic(client_id: str, secret: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
