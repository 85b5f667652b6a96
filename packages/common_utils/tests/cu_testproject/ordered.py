"""Consumers of the ordering tests, one Celery app each, run as worker processes.

``CU_TEST_ORDERED_CONSUMER`` picks the consumer a worker process runs:

- ``all`` handles ``OrderPlaced`` and ``OrderPaid``;
- ``paid`` handles ``OrderPaid`` only, so it must skip the numbers of the other type.

Each handler records what it handled in ``HandledEvent`` (billing database), in its own
transaction, after a short random pause that lets workers race. An event whose amount or total is
negative fails every time (a poisoned event).
"""

from __future__ import annotations

import json
import os
import random
import time

from celery import Celery

from common_utils import Envelope
from common_utils.django.events import EventConsumer
from cu_testproject.events import OrderPaid, OrderPlaced

CONSUMERS = ("all", "paid")
MAX_RETRIES = 3
RETRY_BACKOFF = 2.0  # a poisoned event is dead-lettered after 2 + 4 + 8 s of retries
# Shorter than that: its successors wait because it arrived, not by the clock. Long enough that a
# loaded 2-core machine delivers every other event within it: an event its predecessor waited
# longer for (held in a busy worker's prefetch) is handled without it, as the consumer is told to.
GAP_TIMEOUT = 10.0


def queue_of(name: str) -> str:
    """The queue of consumer ``name``."""
    return f"cu.ordered.{name}"


def make_consumer(name: str, app: Celery) -> EventConsumer:
    """Consumer ``name`` on ``app``, its handlers registered."""
    consumer = EventConsumer(
        app,
        queue=queue_of(name),
        using="billing",
        max_retries=MAX_RETRIES,
        retry_backoff=RETRY_BACKOFF,
        order_poll_max=0.2,
        order_gap_timeout=GAP_TIMEOUT,
    )
    queue = consumer.queue_name

    def record(event: Envelope[OrderPlaced] | Envelope[OrderPaid]) -> None:
        from django.utils import timezone

        from cu_testproject.cu_billing.models import HandledEvent

        time.sleep(random.uniform(0, 0.01))
        assert event.partitionkey is not None
        assert event.keysequence is not None
        HandledEvent.objects.using("billing").create(
            consumer=queue,
            key=event.partitionkey,
            sequence=event.keysequence,
            event_id=event.id,
            pid=os.getpid(),
            handled_at=timezone.now(),
        )

    @consumer.handler(OrderPaid, name=f"{queue}.paid")
    def paid(event: Envelope[OrderPaid]) -> None:
        if event.data.amount < 0:
            raise RuntimeError(f"payment {event.id} cannot be booked")
        record(event)

    if name == "all":

        @consumer.handler(OrderPlaced, name=f"{queue}.placed")
        def placed(event: Envelope[OrderPlaced]) -> None:
            if event.data.total < 0:
                raise RuntimeError(f"order {event.data.order_id} cannot be booked")
            record(event)

    return consumer


def make_app(name: str) -> Celery:
    """A Celery app on the test broker (``CU_TEST_BROKER_*``) for consumer ``name``."""
    app = Celery(f"cu_ordered_{name}")
    app.conf.update(
        broker_url=os.environ.get("CU_TEST_BROKER_URL", "memory://"),
        broker_transport_options=json.loads(os.environ.get("CU_TEST_BROKER_OPTIONS", "{}")),
        broker_transport=os.environ.get("CU_TEST_BROKER_TRANSPORT") or None,
        broker_connection_timeout=3,
        task_ignore_result=True,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
    )
    return app


if "CU_TEST_ORDERED_CONSUMER" in os.environ:  # a worker process: ``celery -A ... worker``
    import django

    django.setup()
    _name = os.environ["CU_TEST_ORDERED_CONSUMER"]
    app = make_app(_name)
    consumer = make_consumer(_name, app)
    app.conf.task_queues = (consumer.queue,)
