"""Orders live in the ``orders`` database."""

from __future__ import annotations

from django.db import models


class Customer(models.Model):
    """Someone who orders."""

    name: models.CharField[str, str] = models.CharField(max_length=100)

    def __str__(self) -> str:
        """The name."""
        return str(self.name)


class Order(models.Model):
    """An order, maybe of a customer."""

    customer: models.ForeignKey[Customer | None, Customer | None] = models.ForeignKey(
        Customer, null=True, on_delete=models.CASCADE
    )
    total: models.IntegerField[int, int] = models.IntegerField(default=0)

    def __str__(self) -> str:
        """The id."""
        return f"order {self.pk}"
