"""The API's representations: an order with its owner, and what placing one takes."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from orders.models import MAX_QUANTITY, MIN_QUANTITY, Order


class OwnerSerializer(serializers.Serializer[Any]):
    """The owner of an order as the users service describes them now."""

    id = serializers.IntegerField(help_text="The user's id in the users service.")
    username = serializers.CharField()
    email = serializers.CharField(help_text="The user's e-mail address; may be empty.")
    display_name = serializers.CharField()
    is_active = serializers.BooleanField()


class OrderSerializer(serializers.ModelSerializer[Order]):
    """An order: what was placed, by whom, and its owner as users knows them now."""

    owner = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = (
            "id",
            "owner_id",
            "owner_email",
            "owner_name",
            "product",
            "quantity",
            "status",
            "placed_at",
            "owner",
        )
        read_only_fields = fields

    @extend_schema_field(OwnerSerializer)
    def get_owner(self, order: Order) -> dict[str, Any]:
        """The owner looked up for this order (``context["owners"]``, keyed by owner id)."""
        owners: dict[str, Any] = self.context["owners"]
        result: dict[str, Any] = OwnerSerializer(owners[order.owner_id]).data
        return result


class PlaceOrderSerializer(serializers.Serializer[Any]):
    """What placing an order takes: a product and a quantity."""

    product = serializers.CharField(
        max_length=200, help_text="The product's name or SKU; not blank."
    )
    quantity = serializers.IntegerField(
        min_value=MIN_QUANTITY,
        max_value=MAX_QUANTITY,
        help_text=f"How many, {MIN_QUANTITY} to {MAX_QUANTITY}.",
    )
