"""The OAuth2 token endpoint: the password grant for users, client credentials for services.

``grant_type=client_credentials`` goes to common-auth's `token_view` (the service accounts of
``COMMON_AUTH['CLIENTS']``). ``grant_type=password`` is answered here: the user's credentials
are checked by Django's authentication backend (an unknown user costs a hash like a known one),
and the token carries ``sub`` = the user's id, the granted scopes and audiences, and the claims
``preferred_username``, ``email`` and ``name`` (the display name). Errors follow RFC 6749 §5.2,
with RFC 8707's ``invalid_target`` for an audience the user may not name.
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any
from urllib.parse import unquote_plus

from common_auth import issue_access_token
from common_auth.django import get_signing_keys, token_view
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.http import HttpResponseBase, JsonResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from users.accounts import display_name_of
from users.serializers import AccessTokenSerializer, OAuthErrorSerializer, TokenSerializer

logger = logging.getLogger("users.tokens")


class OAuthError(Exception):
    """A refused token request: the RFC 6749 §5.2 ``error`` code and a description."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.status = status

    def response(self) -> JsonResponse:
        body = {"error": self.error, "error_description": str(self)}
        return _no_store(JsonResponse(body, status=self.status))


def _no_store(response: JsonResponse) -> JsonResponse:
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def _single(data: Any, name: str) -> str | None:
    """A parameter sent at most once (RFC 6749 §3.2: parameters must not be repeated)."""
    values = data.getlist(name) if hasattr(data, "getlist") else [data.get(name)]
    values = [value for value in values if value is not None]
    if len(values) > 1:
        raise OAuthError("invalid_request", f"the parameter {name} is repeated")
    return values[0] if values else None


def _client_id(request: Request) -> str | None:
    """The client id of a client credentials request that succeeded (Basic or form)."""
    header = request.headers.get("Authorization", "")
    if header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return unquote_plus(decoded.partition(":")[0])
    client_id = request.data.get("client_id")
    return client_id if isinstance(client_id, str) else None


def _granted(requested: str | None, allowed: list[str], *, error: str, what: str) -> list[str]:
    """The requested values if all are allowed (all of `allowed` when none are asked for)."""
    asked = list(dict.fromkeys((requested or "").split()))
    refused = [value for value in asked if value not in allowed]
    if refused:
        raise OAuthError(error, f"{what} not allowed: {' '.join(refused)}")
    return asked or list(allowed)


def password_grant(data: Any, request: Any) -> tuple[User, list[str], list[str]]:
    """Check a password grant request: the user, the granted scopes and audiences."""
    username = _single(data, "username")
    password = _single(data, "password")
    missing = [
        name for name, value in (("username", username), ("password", password)) if not value
    ]
    if missing:
        raise OAuthError("invalid_request", f"missing parameter(s): {', '.join(missing)}")
    scopes = _granted(
        _single(data, "scope"), settings.USERS_USER_SCOPES, error="invalid_scope", what="scope(s)"
    )
    audiences = _granted(
        _single(data, "audience"),
        settings.USERS_USER_AUDIENCES,
        error="invalid_target",
        what="audience(s)",
    )
    # ModelBackend hashes the password for an unknown user too, and refuses inactive users:
    # every refusal takes as long and reads the same.
    user = authenticate(request, username=username, password=password)
    if not isinstance(user, User):
        raise OAuthError("invalid_grant", "wrong username or password")
    return user, scopes, audiences


def issue_user_token(user: User, *, scopes: list[str], audiences: list[str]) -> dict[str, Any]:
    """The RFC 6749 §5.1 answer carrying a user's access token."""
    lifetime = settings.COMMON_AUTH["TOKEN_LIFETIME"]
    token = issue_access_token(
        get_signing_keys(),
        issuer=settings.COMMON_AUTH["ISSUER"],
        subject=str(user.pk),
        audience=audiences[0] if len(audiences) == 1 else audiences,
        lifetime=lifetime,
        scopes=scopes,
        claims={
            "preferred_username": user.get_username(),
            "email": user.email,
            "name": display_name_of(user),
        },
    )
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": int(lifetime),
        "scope": " ".join(scopes),
    }


class TokenView(APIView):
    """``POST /o/token/`` (form-encoded, as OAuth2 requires)."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    parser_classes = (FormParser,)

    @extend_schema(
        operation_id="oauth_token",
        tags=["oauth"],
        auth=[],
        request={"application/x-www-form-urlencoded": TokenSerializer},
        responses={
            200: AccessTokenSerializer,
            400: OpenApiResponse(
                OAuthErrorSerializer,
                description="invalid_request, invalid_grant (wrong username or password), "
                "invalid_scope, invalid_target, unsupported_grant_type",
            ),
            401: OpenApiResponse(OAuthErrorSerializer, description="invalid_client"),
        },
        summary="Get an access token",
        description="The password grant (`username`, `password`) gives a user's token; the "
        "client credentials grant (HTTP Basic or `client_id`/`client_secret`) a service's.",
    )
    def post(self, request: Request) -> HttpResponseBase:
        """Issue an access token for the password or the client credentials grant."""
        try:
            grant_type = _single(request.data, "grant_type")
            if grant_type == "client_credentials":
                response = token_view(request._request)
                if response.status_code == 200:
                    logger.info("service token issued", extra={"client_id": _client_id(request)})
                return response
            if not grant_type:
                raise OAuthError("invalid_request", "missing parameter: grant_type")
            if grant_type != "password":
                raise OAuthError(
                    "unsupported_grant_type", "use grant_type password or client_credentials"
                )
            user, scopes, audiences = password_grant(request.data, request._request)
        except OAuthError as exc:
            logger.info(
                "token request refused", extra={"error": exc.error, "description": str(exc)}
            )
            return exc.response()
        body = issue_user_token(user, scopes=scopes, audiences=audiences)
        logger.info(
            "user token issued",
            extra={"user_id": user.pk, "scope": body["scope"], "audience": audiences},
        )
        return _no_store(JsonResponse(body))

    def handle_exception(self, exc: Exception) -> Response:
        # A body that is not a form is an OAuth2 invalid_request, in the OAuth2 error shape.
        if isinstance(exc, exceptions.UnsupportedMediaType | exceptions.ParseError):
            return Response(
                {"error": "invalid_request", "error_description": "send a form-encoded body"},
                status=400,
                headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
            )
        return super().handle_exception(exc)
