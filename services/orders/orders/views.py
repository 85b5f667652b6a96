"""The orders API: place an order, list the caller's own orders, read one of them.

Placing an order looks the caller up in users (or in process, ``ORDERS_USERS_LOOKUP``), then
writes the order and its ``orders.order_placed`` event in one transaction (the outbox), so the
event exists exactly when the order does. Listing looks up the owner of the orders on the page,
once per owner: the call that fans out to users.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from common_auth import AccessTokenClaims
from common_auth.drf import HasScopes
from common_clients.users.models import User
from common_utils import new_event
from common_utils.django import atomic_for, publish
from common_utils.drf import ProblemSerializer
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotAuthenticated, NotFound
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from orders.events import EVENT_SOURCE, OrderPlaced
from orders.models import Order
from orders.owners import active_owner, owner_lookup
from orders.serializers import OrderSerializer, PlaceOrderSerializer

logger = logging.getLogger("orders.api")

_INVALID = OpenApiResponse(
    ProblemSerializer,
    description="Invalid input: a validation_error problem listing each field at fault under "
    "`errors` (JSON pointer, detail, code).",
)
_UNAUTHENTICATED = OpenApiResponse(ProblemSerializer, description="No token, or a bad one.")
_FORBIDDEN = OpenApiResponse(
    ProblemSerializer,
    description="The token lacks the scope, or (placing) the user is unknown or inactive.",
)
_NOT_FOUND = OpenApiResponse(ProblemSerializer, description="No such order of the caller's.")
_BAD_GATEWAY = OpenApiResponse(ProblemSerializer, description="The users service answered wrongly.")
_UNAVAILABLE = OpenApiResponse(
    ProblemSerializer, description="The users service is unavailable; retry after Retry-After."
)


def _claims(request: Request) -> AccessTokenClaims:
    claims = request.auth
    if not isinstance(claims, AccessTokenClaims):  # the permissions let no one else through
        raise NotAuthenticated()
    return claims


def _owners(owner_ids: Iterable[str], claims: AccessTokenClaims) -> dict[str, User]:
    """Look each distinct owner up once."""
    lookup = owner_lookup()
    return {owner_id: lookup(owner_id, claims) for owner_id in dict.fromkeys(owner_ids)}


class OrderList(generics.GenericAPIView[Order]):
    """The caller's orders; placing a new one."""

    serializer_class = OrderSerializer

    def get_permissions(self) -> Sequence[BasePermission]:
        """``orders:write`` to place an order, ``orders:read`` to list them."""
        scope = "orders:write" if self.request.method == "POST" else "orders:read"
        return [HasScopes.of(scope)()]

    def get_queryset(self) -> QuerySet[Order]:
        """The caller's own orders, newest first."""
        return Order.objects.filter(owner_id=_claims(self.request).sub)

    @extend_schema(
        operation_id="orders_list",
        summary="List my orders",
        description="The caller's own orders, newest first, each with its owner as the users "
        "service knows them now (scope `orders:read`).",
        responses={
            200: OrderSerializer(many=True),
            401: _UNAUTHENTICATED,
            403: _FORBIDDEN,
            404: OpenApiResponse(ProblemSerializer, description="No such page."),
            502: _BAD_GATEWAY,
            503: _UNAVAILABLE,
        },
    )
    def get(self, request: Request) -> Response:
        """List the caller's orders, a page at a time."""
        claims = _claims(request)
        page = self.paginate_queryset(self.get_queryset())
        orders: list[Order] = list(page if page is not None else self.get_queryset())
        owners = _owners((order.owner_id for order in orders), claims)
        data = OrderSerializer(orders, many=True, context={"owners": owners}).data
        logger.info("orders listed", extra={"owner_id": claims.sub, "count": len(orders)})
        return self.get_paginated_response(data) if page is not None else Response(data)

    @extend_schema(
        operation_id="orders_create",
        summary="Place an order",
        description="Places an order for the caller (scope `orders:write`), after looking them up "
        "in the users service (an unknown or inactive user is refused with 403), and publishes "
        "`orders.order_placed` with it.",
        request=PlaceOrderSerializer,
        responses={
            201: OrderSerializer,
            400: _INVALID,
            401: _UNAUTHENTICATED,
            403: _FORBIDDEN,
            502: _BAD_GATEWAY,
            503: _UNAVAILABLE,
        },
    )
    def post(self, request: Request) -> Response:
        """Place an order and publish ``orders.order_placed`` in the same transaction."""
        claims = _claims(request)
        placing = PlaceOrderSerializer(data=request.data)
        placing.is_valid(raise_exception=True)
        owner = active_owner(claims.sub, claims)
        with atomic_for(Order):
            order = Order.objects.create(
                owner_id=claims.sub,
                owner_email=owner.email,
                owner_name=owner.display_name,
                product=placing.validated_data["product"],
                quantity=placing.validated_data["quantity"],
            )
            event = new_event(
                OrderPlaced(
                    order_id=order.pk,
                    owner_id=order.owner_id,
                    owner_email=order.owner_email,
                    owner_name=order.owner_name,
                    product=order.product,
                    quantity=order.quantity,
                    placed_at=order.placed_at,
                ),
                source=EVENT_SOURCE,
                subject=f"order/{order.pk}",
            )
            # Keyed by the order: each consumer gets one order's events in commit order.
            publish(event, using=Order, key=str(order.pk))
        logger.info(
            "order placed",
            extra={"order_id": order.pk, "owner_id": order.owner_id, "event_id": event.id},
        )
        data = OrderSerializer(order, context={"owners": {order.owner_id: owner}}).data
        return Response(data, status=status.HTTP_201_CREATED)


class OrderDetail(generics.GenericAPIView[Order]):
    """One of the caller's orders."""

    serializer_class = OrderSerializer
    permission_classes = [HasScopes.of("orders:read")]  # noqa: RUF012 - DRF's shape

    def get_queryset(self) -> QuerySet[Order]:
        """The caller's own orders: another user's order is not found."""
        return Order.objects.filter(owner_id=_claims(self.request).sub)

    @extend_schema(
        operation_id="orders_retrieve",
        summary="Read one of my orders",
        description="One of the caller's own orders with its owner (scope `orders:read`); "
        "another user's order is answered 404.",
        parameters=[
            OpenApiParameter("id", int, OpenApiParameter.PATH, description="The order's id.")
        ],
        responses={
            200: OrderSerializer,
            401: _UNAUTHENTICATED,
            403: _FORBIDDEN,
            404: _NOT_FOUND,
            502: _BAD_GATEWAY,
            503: _UNAVAILABLE,
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        """Read an order of the caller's."""
        claims = _claims(request)
        try:
            order = self.get_queryset().get(pk=pk)
        except Order.DoesNotExist:
            raise NotFound(f"order {pk} not found") from None
        owners = _owners([order.owner_id], claims)
        logger.info("order read", extra={"order_id": order.pk, "owner_id": order.owner_id})
        return Response(OrderSerializer(order, context={"owners": owners}).data)
