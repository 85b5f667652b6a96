"""Reports relate to orders, so they must share the orders database."""

from __future__ import annotations

from django.db import models

from cu_testproject.cu_orders.models import Order


class OrderReport(models.Model):
    """A report on one order."""

    order: models.ForeignKey[Order, Order] = models.ForeignKey(Order, on_delete=models.CASCADE)

    def __str__(self) -> str:
        """The order."""
        return f"report on order {self.order.pk}"
