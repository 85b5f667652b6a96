"""The outbox: publish() writes in the business transaction; the relay publishes committed rows."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from cu_testproject.cu_billing.models import Invoice
from cu_testproject.cu_orders.models import Order
from cu_testproject.events import OrderPlaced, new_order_event
from django.db import transaction
from django.test import override_settings
from django.utils.timezone import now

from common_utils import NoTransactionError, RequestContextLogFilter, request_context
from common_utils.django import atomic_for, publish
from common_utils.django.events import OutboxRelay
from common_utils.django.events._outbox import claim_batch
from common_utils.django.models import OutboxMessage, ProcessedEvent

ALL = ["default", "orders", "billing", "orders_replica"]


def _place(total: int = 10) -> str:
    order = Order.objects.create(total=total)
    event = new_order_event(OrderPlaced(order_id=order.pk, total=total))
    publish(event)
    return event.id


class _Rollback(Exception):
    pass


def _place_and_roll_back(total: int = 10) -> str:
    """Place an order in a transaction that then fails; return the event id that must not exist."""
    event_id = ""
    try:
        with atomic_for(Order):
            event_id = _place(total)
            raise _Rollback
    except _Rollback:
        pass
    return event_id


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_the_event_row_is_committed_with_the_data_or_not_at_all() -> None:
    with atomic_for(Order):
        kept = _place()
    _place_and_roll_back()
    assert list(OutboxMessage.objects.using("orders").values_list("event_id", flat=True)) == [kept]
    assert not OutboxMessage.objects.using("default").exists()
    assert Order.objects.count() == 1


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_publish_outside_a_transaction_is_refused() -> None:
    event = new_order_event(OrderPlaced(order_id=1, total=1))
    with pytest.raises(NoTransactionError, match="none is open"):
        publish(event)
    with pytest.raises(NoTransactionError, match=r"transaction\.atomic\(using='orders'\)"):
        publish(event, using=Order)


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_publish_with_two_open_transactions_must_be_told_which() -> None:
    event = new_order_event(OrderPlaced(order_id=1, total=1))
    with transaction.atomic(using="orders"), transaction.atomic(using="billing"):
        with pytest.raises(NoTransactionError, match="pass using="):
            publish(event)
        publish(event, using=Order)
    assert OutboxMessage.objects.using("orders").count() == 1


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_failed_publishes_back_off_and_park_after_the_last_attempt() -> None:
    with atomic_for(Order):
        _place()
    conf = {"OUTBOX_MAX_ATTEMPTS": 2, "OUTBOX_BACKOFF": 60.0, "OUTBOX_MAX_BACKOFF": 60.0}
    with override_settings(COMMON_UTILS={**_settings(), **conf}):
        with claim_batch("orders") as batch:
            (message,) = batch.messages
            batch.failed(message, "ConnectionError: refused")
        row = OutboxMessage.objects.using("orders").get()
        assert row.attempts == 1
        assert row.last_error == "ConnectionError: refused"
        assert row.sent_at is None
        assert row.parked_at is None
        with claim_batch("orders") as batch:
            assert batch.messages == []  # not due before its backoff
        with claim_batch("orders", now=row.next_attempt_at) as batch:
            (message,) = batch.messages
            batch.failed(message, "ConnectionError: refused again")
        parked = OutboxMessage.objects.using("orders").get()
        assert parked.attempts == 2
        assert parked.parked_at is not None
        assert parked.last_error == "ConnectionError: refused again"
        with claim_batch("orders", now=parked.next_attempt_at) as batch:
            assert batch.messages == []  # parked rows are left for a person


def _settings() -> dict[str, Any]:
    from django.conf import settings

    return dict(settings.COMMON_UTILS)


@pytest.mark.django_db(databases=ALL, transaction=True)
@pytest.mark.parametrize("delivery_batch", [1, 5], ids=["one-a-message", "batched"])
def test_relay_and_consumer_deliver_each_committed_event_once(
    broker: Any, consumer_worker: Any, wait: Any, delivery_batch: int
) -> None:
    """Each event once, sent one a message or five (the batch's rows of 7: messages of 5 and 2)."""
    with consumer_worker(broker) as deliveries:
        committed = []
        for total in range(20):
            with atomic_for(Order):
                committed.append(_place(total))
        rolled_back = _place_and_roll_back(99)
        from cu_testproject.celery_app import app

        relay = OutboxRelay(app, aliases=["orders"], batch_size=7, delivery_batch=delivery_batch)
        try:
            assert relay.relay_pending() == 20
            assert relay.stats.sent == 20
            # Relaying the same rows again (as after a crash before marking) must do no harm.
            OutboxMessage.objects.using("orders").update(sent_at=None, next_attempt_at=now())
            assert relay.relay_pending() == 20
        finally:
            relay.close()
        # Rows of 7 a batch: 20 rows are batches of 7, 7 and 6, each sent as 7 messages of one
        # event, or as 2 (5 + 2, 5 + 2, 5 + 1); twice over.
        messages = 40 if delivery_batch == 1 else 12
        wait(lambda: len(deliveries) >= messages, what=f"{messages} deliveries")
        wait(lambda: ProcessedEvent.objects.using("billing").count() >= 20, what="20 effects")
    invoices = list(Invoice.objects.using("billing").values_list("event_id", flat=True))
    assert sorted(invoices) == sorted(committed)
    assert rolled_back not in invoices
    assert len(deliveries) == messages


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_the_beat_task_relays_every_due_row(celery_app_for: Any) -> None:
    from conftest import _filesystem_broker
    from cu_testproject.celery_app import app

    from common_utils.django.events import RELAY_TASK, register_relay_task

    celery_app_for(_filesystem_broker("beat"))
    task = app.tasks.get(RELAY_TASK) or register_relay_task(app)
    for total in range(3):
        with atomic_for(Order):
            _place(total)
    assert task.apply().get() == 3
    assert not OutboxMessage.objects.using("orders").filter(sent_at__isnull=True).exists()
    assert task.apply().get() == 0


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_the_relay_sends_each_event_in_the_request_context_it_was_published_in(
    celery_app_for: Any,
) -> None:
    from conftest import _filesystem_broker
    from cu_testproject.consumer import consumer

    app = celery_app_for(_filesystem_broker("context"))
    consumer.declare()
    from opentelemetry import trace

    # A span is current (the request's, in a service): its trace is the one the event carries.
    with (
        trace.get_tracer("test").start_as_current_span("request"),
        request_context(request_id="edge-42") as ctx,
        atomic_for(Order),
    ):
        _place()
        trace_id = ctx.trace_id
    assert trace_id is not None
    relay = OutboxRelay(app, aliases=["orders"])
    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append  # type: ignore[method-assign,assignment]
    handler.addFilter(RequestContextLogFilter())
    events_logger = logging.getLogger("common_utils.events")
    events_logger.addHandler(handler)
    level = events_logger.level
    events_logger.setLevel(logging.INFO)
    try:
        assert relay.relay_pending() == 1
    finally:
        relay.close()
        events_logger.removeHandler(handler)
        events_logger.setLevel(level)
    # The relay's own line about the event carries the request id it was published in.
    published = [r for r in seen if r.getMessage().startswith("published event ")]
    found = [(r.request_id, r.event_type) for r in published]  # type: ignore[attr-defined]
    assert found == [("edge-42", "cu.orders.order_placed.v1")]
    assert published[0].trace_id == trace_id  # type: ignore[attr-defined]
    with app.connection_for_read() as connection:
        message = consumer.queue.bind(connection.default_channel).get(no_ack=True)
    assert message is not None
    # The worker's task_prerun makes these current for the whole task, not only the handlers.
    assert message.headers["x_request_id"] == "edge-42"
    assert message.headers["traceparent"].split("-")[1] == trace_id
