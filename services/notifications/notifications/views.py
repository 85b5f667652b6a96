"""The notifications API: the caller's own notifications, read only."""

from __future__ import annotations

import logging
from typing import Any

from common_auth.drf import HasScopes
from common_utils.drf import ProblemSerializer
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from notifications.models import Notification
from notifications.serializers import NotificationSerializer

logger = logging.getLogger("notifications")

_ERRORS = {
    400: OpenApiResponse(ProblemSerializer, description="A malformed Authorization header."),
    401: OpenApiResponse(ProblemSerializer, description="No token, or a token that is not valid."),
    403: OpenApiResponse(ProblemSerializer, description="The token lacks `notifications:read`."),
}


@extend_schema_view(
    list=extend_schema(
        operation_id="notifications_list",
        summary="List the caller's notifications",
        description="The notifications of the token's user, newest first, 50 per page.",
        responses={
            200: NotificationSerializer(many=True),
            **_ERRORS,
            404: OpenApiResponse(ProblemSerializer, description="No such page."),
        },
    ),
    retrieve=extend_schema(
        operation_id="notifications_retrieve",
        summary="Read one of the caller's notifications",
        description="A notification of the token's user; another user's is not found (404).",
        responses={
            200: NotificationSerializer,
            **_ERRORS,
            404: OpenApiResponse(ProblemSerializer, description="No such notification of yours."),
        },
    ),
)
class NotificationViewSet(viewsets.ReadOnlyModelViewSet[Notification]):
    """Notifications of the caller (the ``sub`` of the bearer token)."""

    serializer_class = NotificationSerializer
    permission_classes = (HasScopes.of("notifications:read"),)
    queryset = Notification.objects.none()  # per request: see get_queryset

    def get_queryset(self) -> QuerySet[Notification]:
        """Only the notifications of the token's user."""
        return Notification.objects.filter(user_id=str(self.request.user.id))

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Answer a page of the caller's notifications."""
        response = super().list(request, *args, **kwargs)
        logger.info(
            "notifications listed",
            extra={"user_id": str(request.user.id), "count": response.data.get("count")},
        )
        return response

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Answer one of the caller's notifications."""
        response = super().retrieve(request, *args, **kwargs)
        logger.info(
            "notification looked up",
            extra={"user_id": str(request.user.id), "notification_id": response.data["id"]},
        )
        return response
