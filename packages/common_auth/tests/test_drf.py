"""The DRF authentication class and scope permissions, over a real JWKS on 127.0.0.1."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

ISSUER = "https://issuer.commons.test"
AUDIENCE = "https://api.commons.test"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def problem(response: Any) -> dict[str, Any]:
    """The RFC 9457 body of a refusal (common_utils.drf.problem_exception_handler's)."""
    assert response["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = json.loads(response.content)
    assert body["status"] == response.status_code
    return body


@pytest.mark.parametrize("middleware", [True, False])
def test_a_valid_token_reaches_the_view(live_settings, forge, middleware) -> None:
    if not middleware:
        live_settings.MIDDLEWARE = []
    response = Client().get("/drf/orders/", headers=bearer(forge.token(alg="EdDSA")))
    assert response.status_code == 200
    assert response.json() == {"sub": "user-42", "client_id": "web"}


@pytest.mark.parametrize("middleware", [True, False])
def test_no_token_is_a_401_with_the_bearer_challenge(live_settings, middleware) -> None:
    if not middleware:
        live_settings.MIDDLEWARE = []
    response = Client().get("/drf/orders/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert problem(response) == {
        "type": "https://commons.invalid/problems/not_authenticated",
        "title": "Unauthorized",
        "status": 401,
        "detail": "Authentication credentials were not provided.",
        "instance": "/drf/orders/",
    }


def test_missing_scope_is_a_403_naming_the_scopes(live_settings, forge) -> None:
    response = Client().get("/drf/admin/", headers=bearer(forge.token()))
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == (
        'Bearer realm="api", error="insufficient_scope", scope="orders:admin orders:read"'
    )
    assert problem(response) == {
        "type": "https://commons.invalid/problems/insufficient_scope",
        "title": "Forbidden",
        "status": 403,
        "detail": "the token lacks the required scope(s): orders:admin orders:read",
        "instance": "/drf/admin/",
        "scope": "orders:admin orders:read",
    }
    admin = forge.token(forge.claims(scope="orders:read orders:admin"))
    assert Client().get("/drf/admin/", headers=bearer(admin)).status_code == 200


def test_has_any_scope_needs_one(live_settings, forge) -> None:
    client = Client()
    assert client.get("/drf/any/", headers=bearer(forge.token())).status_code == 200
    other = forge.token(forge.claims(scope="billing:read"))
    response = client.get("/drf/any/", headers=bearer(other))
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response["WWW-Authenticate"]


def test_with_the_middleware_the_token_is_verified_once(live_settings, forge, verifications):
    assert Client().get("/drf/orders/", headers=bearer(forge.token())).status_code == 200
    assert len(verifications) == 1


def test_a_malformed_header_is_refused_by_drf_alone(live_settings) -> None:
    live_settings.MIDDLEWARE = []
    response = Client().get("/drf/orders/", headers={"Authorization": "Bearer a b"})
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_request"'
    assert problem(response)["type"] == "https://commons.invalid/problems/invalid_token"


def test_drf_spectacular_documents_the_bearer_scheme() -> None:
    pytest.importorskip("drf_spectacular")
    from django.urls import path
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.openapi import AutoSchema
    from rest_framework.response import Response
    from rest_framework.views import APIView

    from common_auth.drf import BearerTokenAuthentication, HasScopes

    class Orders(APIView):
        authentication_classes = (BearerTokenAuthentication,)
        permission_classes = (HasScopes.of("orders:read"),)
        schema = AutoSchema()

        def get(self, request):
            return Response([])

    generator = SchemaGenerator(patterns=[path("orders/", Orders.as_view())])  # type: ignore[no-untyped-call]
    document = generator.get_schema(request=None, public=True)  # type: ignore[no-untyped-call]
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An access token of the auth service (RFC 6750).",
    }
    assert document["paths"]["/orders/"]["get"]["security"] == [{"bearerAuth": []}]
