"""Publisher confirms on real RabbitMQ: what the broker refuses is never marked sent.

The relay publishes with confirms, so RabbitMQ answers each message with ``basic.ack`` or
``basic.nack``. A queue declared with ``x-max-length`` and ``x-overflow: reject-publish`` makes
the broker nack what does not fit: those rows must stay unsent, come back after a backoff and be
parked after ``OUTBOX_MAX_ATTEMPTS``, while what the broker accepted is marked sent. A publish to
an exchange that no longer exists closes the channel (404): a failure too, never a silent success.
Each test has its own vhost.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from conftest import Broker, _amqp_broker
from cu_testproject.cu_orders.models import Order
from cu_testproject.events import OrderPlaced, new_order_event
from django.test import override_settings
from django.utils.timezone import now
from kombu import Connection, Queue

from common_utils import events
from common_utils.django import atomic_for, publish
from common_utils.django.events import OutboxRelay, event_exchange
from common_utils.django.models import OutboxMessage

ALL = ["default", "orders", "billing", "orders_replica"]
EVENT_TYPE = events.type_of(OrderPlaced)
BACKOFF = 0.3
MAX_BACKOFF = 0.6
MAX_ATTEMPTS = 3


@pytest.fixture
def rabbitmq() -> Iterator[Broker]:
    """This test's own RabbitMQ vhost; skips naming COMMONS_TEST_AMQP_URL when it is unset."""
    yield from _amqp_broker()


@pytest.fixture
def outbox_settings() -> Iterator[None]:
    """Short backoffs and few attempts, so a refused row is parked within seconds."""
    from django.conf import settings

    conf = {
        **settings.COMMON_UTILS,
        "OUTBOX_BACKOFF": BACKOFF,
        "OUTBOX_MAX_BACKOFF": MAX_BACKOFF,
        "OUTBOX_MAX_ATTEMPTS": MAX_ATTEMPTS,
    }
    with override_settings(COMMON_UTILS=conf):
        yield


def _commit_event(total: int) -> str:
    with atomic_for(Order):
        order = Order.objects.create(total=total)
        event = new_order_event(OrderPlaced(order_id=order.pk, total=total))
        publish(event)
    return event.id


def _row(event_id: str) -> OutboxMessage:
    return OutboxMessage.objects.using("orders").get(event_id=event_id)


def _declare(broker: Broker, queue: Queue) -> None:
    with Connection(broker.url) as connection:
        queue.bind(connection.default_channel).declare()


def _drain(broker: Broker, queue_name: str) -> list[str]:
    """Take every message off ``queue_name``; return their event ids (the task ids)."""
    ids: list[str] = []
    with Connection(broker.url) as connection:
        queue = Queue(queue_name).bind(connection.default_channel)
        while (message := queue.get(no_ack=True)) is not None:
            ids.append(message.headers["id"])
    return ids


def _bounded_queue(name: str, max_length: int) -> Queue:
    """A queue of the event type that holds ``max_length`` messages and nacks the next ones."""
    return Queue(
        name,
        exchange=event_exchange(),
        routing_key=EVENT_TYPE,
        durable=False,
        queue_arguments={"x-max-length": max_length, "x-overflow": "reject-publish"},
    )


@pytest.mark.django_db(databases=ALL, transaction=True)
@pytest.mark.usefixtures("outbox_settings")
def test_a_nacked_publish_is_retried_with_backoff_then_parked_and_an_acked_one_is_sent(
    rabbitmq: Broker, celery_app_for: Any
) -> None:
    app = celery_app_for(rabbitmq)
    _declare(rabbitmq, _bounded_queue("cu.confirms.bounded", max_length=1))
    accepted, refused = _commit_event(1), _commit_event(2)

    relay = OutboxRelay(app, aliases=["orders"])
    try:
        before = now()
        assert relay.relay_pending() == 2
        after = now()
        assert relay.broker_failing
        assert (relay.stats.sent, relay.stats.failed, relay.stats.parked) == (1, 1, 0)
        assert _row(accepted).sent_at is not None
        row = _row(refused)
        assert row.sent_at is None
        assert row.parked_at is None
        assert row.attempts == 1
        assert "nack" in row.last_error.lower(), row.last_error
        # Full jitter over the first backoff: between half of it and all of it from the failure.
        assert before + timedelta(seconds=BACKOFF / 2) <= row.next_attempt_at
        assert row.next_attempt_at <= after + timedelta(seconds=BACKOFF)

        # Not due yet: the relay leaves it alone until its backoff has passed.
        if now() < row.next_attempt_at - timedelta(seconds=0.05):
            assert relay.relay_pending() == 0
            assert not relay.broker_failing

        # The loop retries after each backoff and gives up after the last attempt.
        stats = relay.run(poll_interval=0.05, until_empty=True)
    finally:
        relay.close()

    row = _row(refused)
    assert row.sent_at is None
    assert row.parked_at is not None
    assert row.attempts == MAX_ATTEMPTS
    assert "nack" in row.last_error.lower(), row.last_error
    assert (stats.sent, stats.failed + stats.parked) == (1, MAX_ATTEMPTS)
    assert stats.parked == 1
    # Attempts 2 and 3 each waited for a backoff of at least half its nominal delay.
    assert row.parked_at - before >= timedelta(
        seconds=(BACKOFF + min(2 * BACKOFF, MAX_BACKOFF)) / 2
    )
    # The broker holds exactly the message it accepted.
    assert _drain(rabbitmq, "cu.confirms.bounded") == [accepted]


@pytest.mark.django_db(databases=ALL, transaction=True)
@pytest.mark.usefixtures("outbox_settings")
def test_once_the_queue_has_room_a_refused_event_is_sent(
    rabbitmq: Broker, celery_app_for: Any
) -> None:
    app = celery_app_for(rabbitmq)
    _declare(rabbitmq, _bounded_queue("cu.confirms.full", max_length=0))
    refused = _commit_event(1)
    relay = OutboxRelay(app, aliases=["orders"])
    try:
        assert relay.relay_pending() == 1
        assert relay.broker_failing
        assert _row(refused).sent_at is None
        assert _row(refused).attempts == 1
        with Connection(rabbitmq.url) as connection:
            Queue("cu.confirms.full").bind(connection.default_channel).delete()
        _declare(rabbitmq, _bounded_queue("cu.confirms.roomy", max_length=10))
        stats = relay.run(poll_interval=0.05, until_empty=True)
    finally:
        relay.close()
    row = _row(refused)
    assert row.sent_at is not None
    assert row.parked_at is None
    assert row.attempts == 1
    assert stats.sent == 1
    (delivered,) = _drain(rabbitmq, "cu.confirms.roomy")
    assert delivered == refused


@pytest.mark.django_db(databases=ALL, transaction=True)
@pytest.mark.usefixtures("outbox_settings")
def test_a_publish_to_an_exchange_that_no_longer_exists_fails_and_is_not_marked_sent(
    rabbitmq: Broker, celery_app_for: Any
) -> None:
    app = celery_app_for(rabbitmq)
    queue = _bounded_queue("cu.confirms.events", max_length=100)
    _declare(rabbitmq, queue)
    first = _commit_event(1)
    relay = OutboxRelay(app, aliases=["orders"])
    try:
        assert relay.relay_pending() == 1
        assert _row(first).sent_at is not None

        # The exchange goes away under the running relay (its connection stays open).
        with Connection(rabbitmq.url) as connection:
            event_exchange().bind(connection.default_channel).delete()
        second = _commit_event(2)
        assert relay.relay_pending() == 1
        assert relay.broker_failing
        row = _row(second)
        assert row.sent_at is None
        assert row.attempts == 1
        assert "404" in row.last_error or "NOT_FOUND" in row.last_error, row.last_error

        # The next connection declares the exchange again; once a queue is bound, it is sent.
        _declare(rabbitmq, queue)
        relay.run(poll_interval=0.05, until_empty=True)
    finally:
        relay.close()
    assert _row(second).sent_at is not None
    assert _drain(rabbitmq, "cu.confirms.events") == [first, second]
