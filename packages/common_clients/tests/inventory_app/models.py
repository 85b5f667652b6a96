"""The inventory's one model."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import models


class Product(models.Model):
    class Category(models.TextChoices):
        TOOLS = "tools"
        PARTS = "parts"
        SUPPLIES = "supplies"

    sku: models.CharField[str, str] = models.CharField(
        max_length=32, unique=True, help_text="Stock keeping unit, unique."
    )
    name: models.CharField[str, str] = models.CharField(max_length=200)
    category: models.CharField[str, str] = models.CharField(max_length=16, choices=Category.choices)
    price: models.DecimalField[Decimal, Decimal] = models.DecimalField(
        max_digits=10, decimal_places=2
    )
    quantity: models.PositiveIntegerField[int, int] = models.PositiveIntegerField(default=0)
    # null means "never written", apart from "written empty".
    notes: models.TextField[str | None, str | None] = models.TextField(null=True, blank=True)
    created: models.DateTimeField[datetime, datetime] = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "inventory_app"
        ordering = ("id",)
