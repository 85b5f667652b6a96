"""Shipments keep the order's id as a plain number (no relation)."""

from __future__ import annotations

from django.db import models


class Shipment(models.Model):
    """A shipment of an order."""

    order_id: models.BigIntegerField[int, int] = models.BigIntegerField()
