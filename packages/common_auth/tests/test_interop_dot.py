"""Interoperation with django-oauth-toolkit: client credentials and RFC 7662 introspection."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from common_auth import (
    ClientCredentials,
    IntrospectionVerifier,
    InvalidToken,
    TokenEndpointError,
)


def orders_credentials(dot_issuer, scope: str = "users:read") -> ClientCredentials:
    return ClientCredentials(
        token_url=dot_issuer.token_url,
        client_id="orders",
        client_secret="orders-secret-value",
        scope=scope,
    )


def introspector(dot_issuer, clock) -> IntrospectionVerifier:
    return IntrospectionVerifier(
        introspection_url=dot_issuer.introspection_url,
        client_id="orders-api",
        client_secret="orders-api-secret-value",
        clock=clock,
    )


def test_client_credentials_against_dot(dot_issuer) -> None:
    token = orders_credentials(dot_issuer).get_token()
    assert token
    assert "." not in token  # DOT's tokens are opaque by default


def test_dot_tokens_verify_by_introspection(dot_issuer, clock) -> None:
    token = orders_credentials(dot_issuer, "users:read users:write").get_token()
    claims = introspector(dot_issuer, clock).verify(token)
    assert claims.client_id == "orders"
    assert claims.sub == "orders"
    assert claims.scopes == {"users:read", "users:write"}


def test_dot_tokens_verify_by_introspection_async(dot_issuer, clock) -> None:
    auth = orders_credentials(dot_issuer)

    async def run() -> Any:
        token = await auth.aget_token()
        return await introspector(dot_issuer, clock).averify(token)

    assert asyncio.run(run()).client_id == "orders"


def test_a_token_revoked_at_dot_becomes_inactive(dot_issuer, clock) -> None:
    token = orders_credentials(dot_issuer).get_token()
    verifier = introspector(dot_issuer, clock)
    verifier.verify(token)
    revoked = httpx.post(
        dot_issuer.revocation_url,
        data={"token": token},
        auth=("orders", "orders-secret-value"),
    )
    assert revoked.status_code == 200
    assert verifier.verify(token).client_id == "orders"  # still cached
    clock.advance(31)
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(token)
    assert caught.value.reason == "inactive"


def test_dot_refuses_a_wrong_secret(dot_issuer) -> None:
    auth = ClientCredentials(
        token_url=dot_issuer.token_url, client_id="orders", client_secret="wrong-secret-value"
    )
    with pytest.raises(TokenEndpointError) as caught:
        auth.get_token()
    assert caught.value.status == 401
    assert caught.value.error == "invalid_client"
    assert "wrong-secret-value" not in str(caught.value)


def test_django_middleware_with_dot_opaque_tokens(settings, dot_issuer) -> None:
    from django.test import Client

    settings.COMMON_AUTH = {
        "ISSUER": dot_issuer.url,
        "AUDIENCE": "https://api.commons.test",
        "INTROSPECTION_URL": dot_issuer.introspection_url,
        "INTROSPECTION_CLIENT_ID": "orders-api",
        "INTROSPECTION_CLIENT_SECRET": "orders-api-secret-value",
    }
    token = orders_credentials(dot_issuer, "users:read").get_token()
    client = Client()
    body = client.get("/whoami/", headers={"Authorization": f"Bearer {token}"}).json()
    assert body["authenticated"] is True
    assert body["id"] == "orders"
    assert body["scopes"] == ["users:read"]
    refused = client.get("/whoami/", headers={"Authorization": "Bearer not-a-dot-token"})
    assert refused.status_code == 401
    assert refused.json()["reason"] == "inactive"
