"""Placing an order: one transaction writes the order and the product's stock."""

from django.db import transaction
from django.db.models import F

from bd_monolith.catalog.models import Product
from bd_monolith.orders.models import Order, OrderLine


def place_order(customer_id: int, product_id: int, quantity: int) -> Order:
    """Create the order and take the quantity from the stock, atomically."""
    with transaction.atomic():
        order = Order.objects.create(customer_id=customer_id, placed=True)
        OrderLine.objects.create(order=order, product_id=product_id, quantity=quantity)
        Product.objects.filter(pk=product_id).update(stock=F("stock") - quantity)
    return order


def orders_of(name: str) -> list[int]:
    """Ids of the orders of customers called ``name`` (a join with accounts' table)."""
    return list(Order.objects.filter(customer__name=name).values_list("pk", flat=True))
