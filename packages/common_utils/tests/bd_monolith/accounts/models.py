"""Customers (each may be a Django user)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models


class Customer(models.Model):
    """A customer of the shop."""

    name: models.CharField[str, str] = models.CharField(max_length=100)
    user: models.OneToOneField[Any, Any] = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL
    )
    shipped_orders: models.IntegerField[int, int] = models.IntegerField(default=0)
