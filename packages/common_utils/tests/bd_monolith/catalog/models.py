"""Products and their categories."""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.fields import GenericRelation
from django.db import models


class Category(models.Model):
    """A category of products."""

    name: models.CharField[str, str] = models.CharField(max_length=100)


class Product(models.Model):
    """A product with its stock."""

    name: models.CharField[str, str] = models.CharField(max_length=100)
    category: models.ForeignKey[Any, Any] = models.ForeignKey(
        Category, null=True, on_delete=models.SET_NULL
    )
    stock: models.IntegerField[int, int] = models.IntegerField(default=0)
    notes = GenericRelation("notes.Note")
