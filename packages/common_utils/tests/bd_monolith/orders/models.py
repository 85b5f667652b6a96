"""Orders and their lines."""

from django.db import models


class Order(models.Model):
    """An order of a customer."""

    customer = models.ForeignKey("accounts.Customer", on_delete=models.CASCADE)
    placed = models.BooleanField(default=False)


class OrderLine(models.Model):
    """A line of an order."""

    order = models.ForeignKey(Order, related_name="lines", on_delete=models.CASCADE)
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT)
    quantity = models.IntegerField()
