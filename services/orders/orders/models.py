"""The order: what a user placed, with the owner's contact details as they were at that time."""

from __future__ import annotations

from datetime import datetime

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

MIN_QUANTITY = 1
MAX_QUANTITY = 100


class Order(models.Model):
    """One order of one product by one user (the token's ``sub``; no user table here)."""

    class Status(models.TextChoices):
        PLACED = "placed"

    owner_id: models.CharField[str, str] = models.CharField(
        max_length=200, db_index=True, help_text="The owner's user id (the token's sub)."
    )
    owner_email: models.CharField[str, str] = models.CharField(max_length=254, blank=True)
    owner_name: models.CharField[str, str] = models.CharField(max_length=200, blank=True)
    product: models.CharField[str, str] = models.CharField(max_length=200)
    quantity: models.PositiveSmallIntegerField[int, int] = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(MIN_QUANTITY), MaxValueValidator(MAX_QUANTITY)]
    )
    status: models.CharField[str, str] = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PLACED
    )
    placed_at: models.DateTimeField[datetime, datetime] = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-placed_at", "-id")
        constraints = (
            models.CheckConstraint(
                condition=models.Q(quantity__gte=MIN_QUANTITY, quantity__lte=MAX_QUANTITY),
                name="orders_order_quantity_range",
            ),
        )

    def __str__(self) -> str:
        return f"order {self.pk} of {self.quantity} x {self.product!r} by {self.owner_id}"
