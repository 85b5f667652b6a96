"""Notes attached to any object (a generic foreign key)."""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models


class Note(models.Model):
    """A note about anything."""

    content_type: models.ForeignKey[Any, Any] = models.ForeignKey(
        ContentType, on_delete=models.CASCADE
    )
    object_id: models.PositiveIntegerField[int, int] = models.PositiveIntegerField()
    subject = GenericForeignKey("content_type", "object_id")
    text: models.TextField[str, str] = models.TextField()
