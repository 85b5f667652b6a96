"""Bearer-token authentication: the token names a service, no user table involved."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

TOKENS = {"inventory-test-token": "orders"}


class ServicePrincipal:
    is_authenticated = True

    def __init__(self, name: str) -> None:
        self.name = name


class BearerTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ServicePrincipal, str] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header.startswith("Bearer "):
            return None
        token = header[len("Bearer ") :]
        if token not in TOKENS:
            raise exceptions.AuthenticationFailed("Invalid token.")
        return ServicePrincipal(TOKENS[token]), token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="inventory"'


class BearerTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "inventory_app.auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer"}
