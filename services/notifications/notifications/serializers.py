"""What the notifications API answers."""

from __future__ import annotations

from rest_framework import serializers

from notifications.models import Notification


class NotificationSerializer(serializers.ModelSerializer[Notification]):
    """A notification of the caller."""

    # Declared rather than derived from the model: the document must not depend on the database.
    order_id = serializers.IntegerField(read_only=True, help_text="The order it is about.")
    # A string, not an enum: clients read a one-value enum as a fixed tag, and a kind added later
    # (order_shipped, ...) must reach an old client as data, not fail its validation.
    kind = serializers.CharField(
        read_only=True, help_text="What the notification is about: `order_placed` (for now)."
    )

    class Meta:
        model = Notification
        fields = ("id", "user_id", "order_id", "kind", "message", "event_id", "created_at")
        read_only_fields = fields
