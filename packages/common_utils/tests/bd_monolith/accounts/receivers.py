"""Accounts listen to shipping's own signal."""

from typing import Any

from django.db.models import F
from django.dispatch import receiver

from bd_monolith.accounts.models import Customer
from bd_monolith.shipping.signals import order_shipped


@receiver(order_shipped)
def count_shipped(sender: Any, customer_id: int, **kwargs: Any) -> None:
    """Count the customer's shipped orders."""
    Customer.objects.filter(pk=customer_id).update(shipped_orders=F("shipped_orders") + 1)
