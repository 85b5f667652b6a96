"""Loyalty points: tied to nothing."""

from __future__ import annotations

from django.db import models


class Points(models.Model):
    """Points of somebody."""

    holder: models.CharField[str, str] = models.CharField(max_length=100)
    amount: models.IntegerField[int, int] = models.IntegerField(default=0)
