"""The worker: one notification per orders.order_placed event, however often it is delivered."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from common_utils import InvalidEventError, new_event, request_context
from common_utils.django import publish
from common_utils.django.events import OutboxRelay
from common_utils.django.models import OutboxMessage
from django.core.management import call_command
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from notifications.consumer import consumer
from notifications.events import OrderPlaced
from notifications.models import Notification
from notifications_service.celery import app

pytestmark = pytest.mark.django_db(transaction=True)


def _order_placed(order_id: int, owner_id: str = "7") -> OrderPlaced:
    return OrderPlaced(
        order_id=order_id,
        owner_id=owner_id,
        owner_email="ada@example.org",
        owner_name="Ada",
        product="Saw",
        quantity=2,
        placed_at=datetime.now(UTC),
    )


def _wait(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def worker() -> Iterator[list[str]]:
    """The service's worker in a thread on the embedded broker; yields the delivered event ids."""
    deliveries: list[str] = []

    def done(task_id: str | None = None, **_: Any) -> None:
        # The worker thread's own connections, closed before the test may go on. The test
        # database is SQLite in memory, whose close() Django ignores (it would drop the database;
        # the main thread's connection keeps it here): left open, Python 3.13 reports each one
        # unclosed when it is collected.
        for connection in connections.all(initialized_only=True):
            BaseDatabaseWrapper.close(connection)
        deliveries.append(str(task_id))

    task_postrun.connect(done, weak=False)
    try:
        with start_worker(
            app,
            perform_ping_check=False,
            loglevel="WARNING",
            queues=[consumer.queue_name],
            shutdown_timeout=30,
        ):
            yield deliveries
    finally:
        task_postrun.disconnect(done)


def test_the_queue_is_declared_bound_to_the_order_placed_events(capsys: Any) -> None:
    call_command("declare_queues")
    assert "orders.order_placed.v1" in capsys.readouterr().out
    assert [binding.routing_key for binding in consumer.queue.bindings] == [
        "orders.order_placed.v1"
    ]
    assert consumer.exchange.name == "commons.events"


def test_events_relayed_through_the_broker_are_recorded_once_even_when_sent_twice(
    worker: list[str], records: list[dict[str, Any]]
) -> None:
    # Published the way the orders service does: the outbox, in a transaction, in a request.
    placed = []
    for order_id, request_id in ((101, "req-order-101"), (102, "req-order-102")):
        with request_context(request_id=request_id), transaction.atomic():
            event = new_event(_order_placed(order_id), source="/orders")
            publish(event)
        placed.append(event.id)
    relay = OutboxRelay(app)
    try:
        assert relay.relay_pending() == 2
        # A relay that died before marking its rows sent publishes them again.
        OutboxMessage.objects.update(sent_at=None, next_attempt_at=timezone.now())
        assert relay.relay_pending() == 2
    finally:
        relay.close()
    _wait(lambda: len(worker) >= 4, "four deliveries")
    # A delivery that met a locked SQLite database is retried after its task ended: wait for
    # what the four deliveries must come to, not for the tasks alone.
    _wait(
        lambda: sum("already handled" in line["message"] for line in records) >= 2,
        "each event's second delivery skipped",
    )

    notifications = Notification.objects.order_by("order_id")
    assert [(n.order_id, n.user_id, n.kind, n.event_id) for n in notifications] == [
        (101, "7", "order_placed", placed[0]),
        (102, "7", "order_placed", placed[1]),
    ]
    assert notifications[0].message == "Hello Ada, your order #101 (2 x Saw) is placed."
    recorded = [line for line in records if line["message"] == "notification recorded"]
    assert sorted((line["request_id"], line["order_id"]) for line in recorded) == [
        ("req-order-101", 101),
        ("req-order-102", 102),
    ]
    skipped = [line for line in records if "already handled" in line["message"]]
    assert sorted(line["request_id"] for line in skipped) == ["req-order-101", "req-order-102"]


def test_an_event_delivered_twice_is_recorded_once() -> None:
    with request_context(request_id="req-9"):
        event = new_event(_order_placed(9), source="/orders")
    raw = event.model_dump(mode="json")
    assert consumer.handle(raw) == 1
    assert consumer.handle(raw) == 0
    assert Notification.objects.filter(event_id=event.id).count() == 1


def test_an_event_that_does_not_fit_the_contract_is_refused_naming_the_field() -> None:
    raw = new_event(_order_placed(5), source="/orders").model_dump(mode="json")
    raw["data"]["quantity"] = 0
    with pytest.raises(InvalidEventError, match=r"data\.quantity"):
        consumer.handle(raw)
    assert not Notification.objects.exists()
