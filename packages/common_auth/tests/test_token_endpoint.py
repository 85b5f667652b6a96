"""The auth service end to end: token_view and jwks_view served by Django on 127.0.0.1, used by
ClientCredentials and TokenVerifier exactly as two other services would."""

from __future__ import annotations

import httpx
import pytest
from django.contrib.auth.hashers import make_password
from django.core.checks import run_checks

from common_auth import ClientCredentials, JWKSCache, SigningKey, TokenEndpointError, TokenVerifier

ISSUER = "https://auth.commons.test"
ORDERS_API = "https://orders.commons.test"


@pytest.fixture
def auth_service(settings, live_server):
    settings.COMMON_AUTH = {
        "ISSUER": ISSUER,
        "AUDIENCE": ISSUER,
        "SIGNING_KEYS": [SigningKey.generate("ES256").private_pem()],
        "TOKEN_LIFETIME": 120,
        "CLIENTS": {
            "orders": {
                "SECRET_HASH": make_password("orders-secret-value"),
                "SCOPES": ["users:read", "users:write"],
                "AUDIENCES": [ORDERS_API, "https://billing.commons.test"],
            }
        },
    }
    return live_server


def credentials(live_server, **options) -> ClientCredentials:
    arguments = {
        "token_url": f"{live_server.url}/o/token/",
        "client_id": "orders",
        "client_secret": "orders-secret-value",
    }
    return ClientCredentials(**(arguments | options))


def test_client_credentials_end_to_end(auth_service) -> None:
    token = credentials(auth_service, scope="users:read").get_token()
    verifier = TokenVerifier(
        issuer=ISSUER,
        audience=ORDERS_API,
        keys=JWKSCache(f"{auth_service.url}/.well-known/jwks.json"),
    )
    claims = verifier.verify(token)
    assert claims.sub == "orders"
    assert claims.client_id == "orders"
    assert claims.scopes == {"users:read"}
    assert claims.audiences == (ORDERS_API,)
    assert claims.exp - claims.iat == 120  # type: ignore[operator]


def test_the_default_grant_is_every_allowed_scope_for_the_first_audience(auth_service) -> None:
    response = httpx.post(
        f"{auth_service.url}/o/token/",
        data={"grant_type": "client_credentials"},
        auth=("orders", "orders-secret-value"),
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 120
    assert body["scope"] == "users:read users:write"


def test_client_secret_post_and_audience(auth_service) -> None:
    auth = credentials(
        auth_service, auth_method="client_secret_post", audience="https://billing.commons.test"
    )
    verifier = TokenVerifier(
        issuer=ISSUER,
        audience="https://billing.commons.test",
        keys=JWKSCache(f"{auth_service.url}/.well-known/jwks.json"),
    )
    assert verifier.verify(auth.get_token()).sub == "orders"


@pytest.mark.parametrize(
    ("options", "status", "error"),
    [
        ({"client_secret": "wrong-secret-value"}, 401, "invalid_client"),
        ({"client_id": "stranger"}, 401, "invalid_client"),
        ({"scope": "users:delete"}, 400, "invalid_scope"),
        ({"audience": "https://elsewhere.test"}, 400, "invalid_target"),
    ],
)
def test_refusals_are_oauth_errors(auth_service, options, status, error) -> None:
    with pytest.raises(TokenEndpointError) as caught:
        credentials(auth_service, **options).get_token()
    assert caught.value.status == status
    assert caught.value.error == error


@pytest.mark.parametrize(
    ("data", "auth", "status", "error"),
    [
        (
            {"grant_type": "password"},
            ("orders", "orders-secret-value"),
            400,
            "unsupported_grant_type",
        ),
        ({"grant_type": "client_credentials"}, None, 401, "invalid_client"),
        (
            {"grant_type": "client_credentials", "client_id": "orders", "client_secret": "x"},
            ("orders", "orders-secret-value"),
            400,
            "invalid_request",
        ),
    ],
)
def test_malformed_requests(auth_service, data, auth, status, error) -> None:
    response = httpx.post(f"{auth_service.url}/o/token/", data=data, auth=auth)
    assert response.status_code == status
    assert response.json()["error"] == error
    if status == 401:
        assert response.headers["WWW-Authenticate"] == 'Basic realm="api"'


def test_malformed_basic_credentials(auth_service) -> None:
    response = httpx.post(
        f"{auth_service.url}/o/token/",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic !!!not-base64"},
    )
    assert response.status_code == 401
    assert httpx.get(f"{auth_service.url}/o/token/").status_code == 405


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"TOKEN_LIFETIME": 7200}, "common_auth.E002"),
        ({"CLIENTS": {"a": {"SECRET_HASH": "x"}}}, "common_auth.E001"),
    ],
)
def test_token_endpoint_settings_are_checked(settings, extra, expected) -> None:
    settings.COMMON_AUTH = {"ISSUER": ISSUER, "AUDIENCE": ISSUER} | extra
    assert expected in [m.id for m in run_checks()]


def test_clients_without_signing_keys_fail_the_checks(settings, monkeypatch) -> None:
    monkeypatch.delenv("COMMON_AUTH_SIGNING_KEY", raising=False)
    settings.COMMON_AUTH = {
        "ISSUER": ISSUER,
        "AUDIENCE": ISSUER,
        "CLIENTS": {"a": {"SECRET_HASH": "x", "AUDIENCES": [ORDERS_API]}},
    }
    assert "common_auth.E003" in [m.id for m in run_checks()]
