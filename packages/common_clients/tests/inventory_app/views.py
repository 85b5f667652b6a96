"""The products API: a DRF viewset plus a stock adjustment action."""

from typing import Any

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from inventory_app.models import Product


class ProductSerializer(serializers.ModelSerializer[Product]):
    # Declared, not derived from the model: Django 5 derives the database's integer range, 4.2
    # none, and the exported document must not depend on the Django version.
    quantity = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False)

    class Meta:
        model = Product
        fields = ("id", "sku", "name", "category", "price", "quantity", "notes", "created")
        read_only_fields = ("id", "created")


class StockAdjustmentSerializer(serializers.Serializer[Any]):
    delta = serializers.IntegerField(help_text="Units to add (negative to remove).")
    reason = serializers.CharField(max_length=200, required=False)


class OutOfStock(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Not enough stock."
    default_code = "out_of_stock"


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "category",
                str,
                enum=Product.Category.values,
                description="Only products of this category.",
            )
        ]
    )
)
class ProductViewSet(viewsets.ModelViewSet[Product]):
    """Products of the inventory."""

    queryset = Product.objects.all()
    serializer_class = ProductSerializer

    def get_queryset(self) -> Any:
        queryset = Product.objects.all()
        category = self.request.query_params.get("category")
        return queryset.filter(category=category) if category else queryset

    @extend_schema(request=StockAdjustmentSerializer, responses=ProductSerializer)
    @action(detail=True, methods=["post"])
    def adjust_stock(self, request: Request, pk: str | None = None) -> Response:
        """Add or remove units; refuses (409) to go below zero."""
        adjustment = StockAdjustmentSerializer(data=request.data)
        adjustment.is_valid(raise_exception=True)
        with transaction.atomic():
            product = self.get_object()
            quantity = product.quantity + adjustment.validated_data["delta"]
            if quantity < 0:
                raise OutOfStock
            product.quantity = quantity
            product.save(update_fields=["quantity"])
        return Response(ProductSerializer(product).data)
