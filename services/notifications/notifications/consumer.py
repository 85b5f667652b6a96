"""The event consumer of the notifications service: a notification per placed order, once.

``EventConsumer`` (common-utils) records each event id with its handler in the same transaction
as the notification, so an event delivered twice is recorded once. The consumer's queue is
declared when the worker starts (it is the worker's only entry in ``task_queues``) and by
``manage.py declare_queues``.
"""

from __future__ import annotations

import logging

from common_utils import Envelope
from common_utils.django.events import EventConsumer
from django.conf import settings

from notifications.events import OrderPlaced
from notifications.models import Notification
from notifications_service.celery import app

logger = logging.getLogger("notifications")

consumer = EventConsumer(app, queue=settings.NOTIFICATIONS_QUEUE, using="default")


@consumer.handler(OrderPlaced, name="notifications.record_order_placed")
def record_order_placed(event: Envelope[OrderPlaced]) -> None:
    """Record the ``order_placed`` notification of the order's owner."""
    order = event.data
    quantity = f"{order.quantity} x {order.product}"
    notification = Notification.objects.create(
        user_id=order.owner_id,
        order_id=order.order_id,
        kind=Notification.Kind.ORDER_PLACED,
        message=f"Hello {order.owner_name}, your order #{order.order_id} ({quantity}) is placed.",
        event_id=event.id,
    )
    logger.info(
        "notification recorded",
        extra={
            "notification_id": notification.pk,
            "user_id": notification.user_id,
            "order_id": notification.order_id,
            "event_id": event.id,
        },
    )


# The worker consumes this queue (``-Q notifications.events``) and declares it, bound to the
# exchange for every handled event type, before it takes its first message.
app.conf.task_queues = [consumer.queue]
app.conf.task_default_queue = consumer.queue_name
