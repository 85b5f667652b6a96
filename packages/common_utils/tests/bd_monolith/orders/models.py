"""Orders and their lines."""

from __future__ import annotations

from typing import Any

from django.db import models


class Order(models.Model):
    """An order of a customer."""

    customer: models.ForeignKey[Any, Any] = models.ForeignKey(
        "accounts.Customer", on_delete=models.CASCADE
    )
    customer_id: int  # the column Django adds for the foreign key
    placed: models.BooleanField[bool, bool] = models.BooleanField(default=False)


class OrderLine(models.Model):
    """A line of an order."""

    order: models.ForeignKey[Any, Any] = models.ForeignKey(
        Order, related_name="lines", on_delete=models.CASCADE
    )
    product: models.ForeignKey[Any, Any] = models.ForeignKey(
        "catalog.Product", on_delete=models.PROTECT
    )
    quantity: models.IntegerField[int, int] = models.IntegerField()
