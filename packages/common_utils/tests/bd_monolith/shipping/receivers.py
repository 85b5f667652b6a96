"""Shipping ships each placed order."""

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from bd_monolith.orders.models import Order
from bd_monolith.shipping.models import Shipment
from bd_monolith.shipping.signals import order_shipped


@receiver(post_save, sender=Order)
def ship(sender: Any, instance: Order, created: bool, **kwargs: Any) -> None:
    """Ship a placed order and tell who listens."""
    if created and instance.placed:
        Shipment.objects.create(order_id=instance.pk)
        order_shipped.send(sender=Shipment, customer_id=instance.customer_id)
