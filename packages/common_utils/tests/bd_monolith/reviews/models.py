"""Reviews of products by customers."""

from __future__ import annotations

from typing import Any

from django.db import models


class Review(models.Model):
    """A customer's review of a product."""

    product: models.ForeignKey[Any, Any] = models.ForeignKey(
        "catalog.Product", on_delete=models.CASCADE
    )
    author: models.ForeignKey[Any, Any] = models.ForeignKey(
        "accounts.Customer", on_delete=models.CASCADE
    )
    stars: models.IntegerField[int, int] = models.IntegerField()
