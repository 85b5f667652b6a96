"""The users API (``/api/users/``) and the documented wrapper of the JWKS document."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from common_auth.django import jwks_view
from common_auth.drf import HasScopes
from common_utils.drf import ProblemSerializer
from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from users.serializers import UserCreateSerializer, UserSerializer

logger = logging.getLogger("users.api")

_UNAUTHENTICATED = OpenApiResponse(ProblemSerializer, description="No token, or a bad one.")
_FORBIDDEN = OpenApiResponse(ProblemSerializer, description="The token lacks the scope.")
_NOT_FOUND = OpenApiResponse(ProblemSerializer, description="No such user.")
_INVALID = OpenApiResponse(
    ProblemSerializer,
    description="Invalid input: a validation_error problem listing each field at fault under "
    "`errors` (JSON pointer, detail, code).",
)


def _caller(request: Request) -> str | None:
    """Who asks, for the log: the client id of a service token, else the token's subject."""
    claims = request.auth
    return getattr(claims, "client_id", None) or getattr(claims, "sub", None)


def _etag(data: Any) -> str:
    """A strong validator of a representation: a hash of its JSON, keys sorted."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


def _none_match(header: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` matches ``etag`` (weak comparison, ``*`` matches any)."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in header.split(","))


@extend_schema_view(
    list=extend_schema(
        operation_id="users_list",
        summary="List users",
        description="Every user, by id (scope `users:read`).",
        responses={
            200: UserSerializer(many=True),
            401: _UNAUTHENTICATED,
            403: _FORBIDDEN,
        },
    ),
    retrieve=extend_schema(
        operation_id="users_retrieve",
        summary="Look a user up",
        description="One user by id (scope `users:read`).",
        parameters=[
            OpenApiParameter("id", int, OpenApiParameter.PATH, description="The user's id.")
        ],
        responses={
            200: UserSerializer,
            401: _UNAUTHENTICATED,
            403: _FORBIDDEN,
            404: _NOT_FOUND,
        },
    ),
    create=extend_schema(
        operation_id="users_create",
        summary="Create a user",
        description="A new active user (scope `users:write`).",
        request=UserCreateSerializer,
        responses={
            201: UserSerializer,
            400: _INVALID,
            401: _UNAUTHENTICATED,
            403: _FORBIDDEN,
        },
    ),
)
@extend_schema(tags=["users"])
class UserViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[User],
):
    """Users of the Commons services."""

    serializer_class = UserSerializer
    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> QuerySet[User]:
        return User.objects.select_related("profile").order_by("id")

    def get_permissions(self) -> list[BasePermission]:
        if self.action == "create":
            return [HasScopes.of("users:write")()]
        if self.action == "me":
            return [permissions.IsAuthenticated()]
        return [HasScopes.of("users:read")()]

    def get_serializer_class(self) -> type[Any]:
        return UserCreateSerializer if self.action == "create" else UserSerializer

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """One user, cacheable: ``ETag``, ``Cache-Control: max-age`` and 304 to a caller whose
        ``If-None-Match`` names the current version (RFC 9110 §13.1.2, RFC 9111)."""
        user = self.get_object()
        logger.info("user looked up", extra={"user_id": user.pk, "caller": _caller(request)})
        data = UserSerializer(user).data
        etag = _etag(data)
        cacheable = {
            "ETag": etag,
            "Cache-Control": f"private, max-age={settings.USERS_CACHE_MAX_AGE}",
            # The answer depends on who asks (the scope check): a cache keys it by the token.
            "Vary": "Authorization",
        }
        if _none_match(request.headers.get("If-None-Match"), etag):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers=cacheable)
        return Response(data, headers=cacheable)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().list(request, *args, **kwargs)
        logger.info(
            "users listed",
            extra={"page": request.query_params.get("page", "1"), "caller": _caller(request)},
        )
        return response

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = UserCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.save()
        logger.info(
            "user created",
            extra={"user_id": user.pk, "username": user.username, "caller": _caller(request)},
        )
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="users_me",
        summary="The caller",
        description="The user the token was issued to (any user token; a service token has no "
        "user and gets 404).",
        responses={
            200: UserSerializer,
            401: _UNAUTHENTICATED,
            404: _NOT_FOUND,
        },
    )
    @action(detail=False, methods=["get"])
    def me(self, request: Request) -> Response:
        claims = request.auth
        subject = getattr(claims, "sub", "")
        if getattr(claims, "client_id", None) is not None or not (
            subject.isascii() and subject.isdigit()
        ):
            raise NotFound("this token was issued to a service, not to a user")
        user = self.get_queryset().filter(pk=int(subject)).first()
        if user is None:
            raise NotFound("the user of this token no longer exists")
        logger.info("user looked up (me)", extra={"user_id": user.pk})
        return Response(UserSerializer(user).data)


class JWKSView(APIView):
    """``GET /.well-known/jwks.json``: common-auth's `jwks_view`, documented."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(
        operation_id="oauth_jwks",
        tags=["oauth"],
        auth=[],
        summary="The token signing keys",
        description="The public keys that verify this service's tokens (RFC 7517 JWK Set).",
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> HttpResponseBase:
        """The public keys as a JWK Set."""
        return jwks_view(request._request)
