"""``manage.py declare_queues``: declare the service's event queue and its bindings."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    """Declare the consumer's queue on the broker, so no event published from now on is lost."""

    help = (
        "Declare the notifications queue on the broker, bound to the event exchange for each "
        "event type the service handles (idempotent)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        """Declare the queue; fail with the broker's reason when it cannot be reached."""
        from notifications.consumer import consumer

        try:
            consumer.declare()
        except Exception as exc:  # kombu and amqp raise many kinds; all mean the same here
            raise CommandError(f"cannot declare {consumer.queue_name!r}: {exc}") from exc
        keys = ", ".join(binding.routing_key for binding in consumer.queue.bindings)
        self.stdout.write(
            f"declared queue {consumer.queue_name!r} on exchange "
            f"{consumer.exchange.name!r} for {keys}"
        )
