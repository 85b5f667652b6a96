"""The notifications recorded for users, one per event that concerns them."""

from __future__ import annotations

from datetime import datetime

from django.db import models


class Notification(models.Model):
    """A message for a user about something that happened to them (an order they placed)."""

    class Kind(models.TextChoices):
        ORDER_PLACED = "order_placed", "Order placed"

    id: models.BigAutoField[int, int] = models.BigAutoField(primary_key=True)
    user_id: models.CharField[str, str] = models.CharField(
        max_length=200, db_index=True, help_text="The user's id: the subject (sub) of their tokens."
    )
    order_id: models.BigIntegerField[int, int] = models.BigIntegerField(
        help_text="The order the notification is about."
    )
    kind: models.CharField[str, str] = models.CharField(max_length=40, choices=Kind.choices)
    message: models.TextField[str, str] = models.TextField()
    event_id: models.CharField[str, str] = models.CharField(
        max_length=200, help_text="The id of the event that caused the notification."
    )
    created_at: models.DateTimeField[datetime, datetime] = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = (
            # One notification of a kind per event, whatever the consumer does.
            models.UniqueConstraint(
                fields=["event_id", "kind"], name="notifications_one_per_event_kind"
            ),
        )

    def __str__(self) -> str:
        """Name the kind, the user and the order."""
        return f"{self.kind} for user {self.user_id} (order {self.order_id})"
