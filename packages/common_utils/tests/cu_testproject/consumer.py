"""The billing service's consumer: an invoice per placed order, exactly once."""

from __future__ import annotations

import os
import time

from common_utils import Envelope
from common_utils.django.events import EventConsumer
from cu_testproject.celery_app import app
from cu_testproject.cu_billing.models import Invoice
from cu_testproject.events import OrderPlaced

consumer = EventConsumer(app, queue="cu.billing.events", using="billing", retry_backoff=0.1)

POISONED_ORDERS: set[int] = set()
"""Orders whose invoicing fails (a test's stand-in for a bug), until a test takes them out."""

HANDLER_SECONDS = float(os.environ.get("CU_TEST_HANDLER_SECONDS", "0"))
"""How long invoicing takes, inside its transaction: a worker stopped mid-task has one running."""


@consumer.handler(OrderPlaced, name="billing.invoice_order")
def invoice_order(event: Envelope[OrderPlaced]) -> None:
    """Create the invoice of a placed order."""
    if event.data.order_id in POISONED_ORDERS:
        raise RuntimeError(f"order {event.data.order_id} cannot be invoiced")
    Invoice.objects.using("billing").create(order_id=event.data.order_id, event_id=event.id)
    if HANDLER_SECONDS:
        time.sleep(HANDLER_SECONDS)
