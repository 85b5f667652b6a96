"""Billing lives in the ``billing`` database and knows orders only by id."""

from __future__ import annotations

from datetime import datetime

from django.db import models


class Invoice(models.Model):
    """One invoice per placed order (the effect of the order_placed event)."""

    order_id: models.BigIntegerField[int, int] = models.BigIntegerField()
    # Deliberately not unique: only the consumer's processed-event table may deduplicate.
    event_id: models.CharField[str, str] = models.CharField(max_length=200)

    def __str__(self) -> str:
        """The order."""
        return f"invoice for order {self.order_id}"


class HandledEvent(models.Model):
    """What an ordering test's consumer handled, in the order its handlers committed."""

    consumer: models.CharField[str, str] = models.CharField(max_length=100)
    key: models.CharField[str, str] = models.CharField(max_length=200)
    sequence: models.BigIntegerField[int, int] = models.BigIntegerField()
    event_id: models.CharField[str, str] = models.CharField(max_length=200)
    pid: models.IntegerField[int, int] = models.IntegerField()
    handled_at: models.DateTimeField[datetime, datetime] = models.DateTimeField()

    def __str__(self) -> str:
        """The consumer, key and number."""
        return f"{self.consumer}: {self.key} #{self.sequence}"
