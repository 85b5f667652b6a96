"""No event is dropped: what a consumer cannot handle is dead-lettered, listed and replayed.

Each test runs on the embedded broker and on RabbitMQ (and PostgreSQL) when their variables are
set, with a real worker, a real relay and the management commands as an operator runs them.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from cu_testproject.cu_billing.models import Invoice
from cu_testproject.cu_orders.models import Order
from cu_testproject.events import OrderPlaced, new_order_event
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils.timezone import now

from common_utils.django import atomic_for, publish
from common_utils.django.events import OutboxRelay
from common_utils.django.events._outbox import claim_batch
from common_utils.django.models import DeadLetter, OutboxMessage

ALL = ["default", "orders", "billing", "orders_replica"]
TYPE = "cu.orders.order_placed.v1"


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def _place(**envelope: Any) -> tuple[int, str]:
    """Place an order and publish its event, envelope attributes overridden; its ids."""
    with atomic_for(Order):
        order = Order.objects.create(total=5)
        event = new_order_event(OrderPlaced(order_id=order.pk, total=5))
        if envelope:
            event = event.model_copy(update=envelope)
        publish(event)
    return order.pk, event.id


def _raw_outbox_row(doc: dict[str, Any]) -> str:
    """An outbox row holding ``doc`` as written by a faulty producer; routed as an order event."""
    stamp = now()
    OutboxMessage.objects.using("orders").create(
        event_id=doc["id"],
        event_type=TYPE,
        payload=json.dumps(doc),
        created_at=stamp,
        next_attempt_at=stamp,
    )
    return str(doc["id"])


@pytest.fixture
def poisoned() -> Iterator[set[int]]:
    from cu_testproject.consumer import POISONED_ORDERS

    try:
        yield POISONED_ORDERS
    finally:
        POISONED_ORDERS.clear()


@pytest.fixture
def few_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    from cu_testproject.consumer import consumer

    monkeypatch.setattr(consumer, "max_retries", 2)  # 3 attempts, 0.1 s then 0.2 s apart


def _relay(app: Any, delivery_batch: int = 1) -> None:
    relay = OutboxRelay(app, aliases=["orders"], delivery_batch=delivery_batch)
    try:
        relay.relay_pending()
    finally:
        relay.close()


@pytest.mark.django_db(databases=ALL, transaction=True)
@pytest.mark.parametrize("delivery_batch", [1, 10], ids=["one-a-message", "batched"])
@pytest.mark.usefixtures("few_retries")
def test_events_that_cannot_be_handled_are_dead_lettered_then_replayed(
    broker: Any, consumer_worker: Any, wait: Any, poisoned: set[int], delivery_batch: int
) -> None:
    """Batched, the good event is handled in the batch, the failing one and the rest go on alone."""
    from cu_testproject.celery_app import app

    started = now() - timedelta(seconds=1)
    with consumer_worker(broker):
        # A malformed traceparent is no reason to drop an event: a new trace is started.
        good_order, _ = _place(traceparent="not-a-traceparent", requestid="rid-ok")
        bad_order, bad_event = _place()
        poisoned.add(bad_order)
        unreadable = _raw_outbox_row(
            {
                **json.loads(new_order_event(OrderPlaced(order_id=1, total=1)).to_json()),
                "data": {"order_id": "one"},
            }
        )
        unknown = _raw_outbox_row(
            {
                **json.loads(new_order_event(OrderPlaced(order_id=2, total=2)).to_json()),
                "type": "cu.orders.order_placed.v9",
            }
        )
        _relay(app, delivery_batch)
        wait(lambda: DeadLetter.objects.using("billing").count() == 3, what="3 dead letters")
        wait(
            lambda: Invoice.objects.using("billing").filter(order_id=good_order).exists(),
            what="the event with a malformed traceparent handled",
        )
        letters = {d.event_id: d for d in DeadLetter.objects.using("billing").all()}
        assert set(letters) == {bad_event, unreadable, unknown}
        failed = letters[bad_event]
        assert (failed.reason, failed.attempts, failed.handler) == (
            "handler-failed",
            3,
            "billing.invoice_order",
        )
        assert f"RuntimeError: order {bad_order} cannot be invoiced" in failed.error
        assert failed.queue == "cu.billing.events"
        assert json.loads(failed.envelope)["data"] == {"order_id": bad_order, "total": 5}
        assert (letters[unreadable].reason, letters[unreadable].attempts) == ("unreadable", 1)
        assert "data.order_id" in letters[unreadable].error
        assert letters[unknown].reason == "unknown-type"
        assert "cu.orders.order_placed.v9" in letters[unknown].error

        listing = run("events", "list")
        assert "3 dead letter(s)" in listing
        assert f"billing #{failed.pk} " in listing
        shown = run("events", "show", str(failed.pk), "--database", "billing")
        assert "handler: billing.invoice_order" in shown
        assert f'"order_id": {bad_order}' in shown

        # The bug is fixed: replaying by type and reason delivers it, once.
        poisoned.clear()
        replayed = run("events", "replay", "--type", TYPE, "--reason", "handler-failed")
        assert f"billing #{failed.pk} replayed" in replayed
        wait(
            lambda: Invoice.objects.using("billing").filter(order_id=bad_order).exists(),
            what="the replayed event handled",
        )
        assert DeadLetter.objects.using("billing").get(pk=failed.pk).replayed_at is not None
        assert "2 dead letter(s)" in run("events", "list", "--database", "billing")

        # Replayed by time range while its cause remains, an event is dead-lettered again:
        # the old letter is marked replayed, a new one holds it, nothing is lost.
        until = (now() + timedelta(seconds=1)).isoformat()
        out = run(
            "events",
            "replay",
            "--reason",
            "unknown-type",
            "--since",
            started.isoformat(),
            "--until",
            until,
        )
        assert "1 dead letter(s) replayed" in out
        wait(lambda: DeadLetter.objects.using("billing").count() == 4, what="a new dead letter")
        again = DeadLetter.objects.using("billing").filter(event_id=unknown).order_by("id")
        assert [d.replayed_at is not None for d in again] == [True, False]
    assert Invoice.objects.using("billing").filter(order_id=bad_order).count() == 1


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_parked_outbox_rows_are_listed_and_replayed_by_id_type_and_time(
    broker: Any, celery_app_for: Any
) -> None:
    app = celery_app_for(broker)
    events = [_place()[1] for _ in range(3)]
    conf = {"OUTBOX_MAX_ATTEMPTS": 1}
    from django.conf import settings

    with (
        override_settings(COMMON_UTILS={**settings.COMMON_UTILS, **conf}),
        claim_batch("orders") as batch,
    ):
        for message in batch.messages:
            batch.failed(message, "ConnectionError: refused")
    rows = list(OutboxMessage.objects.using("orders").order_by("id"))
    assert all(row.parked_at is not None for row in rows)

    listing = run("outbox", "list", "--database", "orders")
    assert "3 outbox row(s)" in listing
    assert "parked" in listing
    assert "ConnectionError: refused" in listing
    shown = run("outbox", "show", str(rows[0].pk), "--database", "orders")
    assert "state: parked" in shown
    assert events[0] in shown

    assert "1 parked row(s) replayed" in run("outbox", "replay", "--id", str(rows[0].pk))
    assert "2 parked row(s) replayed" in run(
        "outbox", "replay", "--type", TYPE, "--since", rows[1].created_at.isoformat()
    )
    assert "0 parked row(s) replayed" in run("outbox", "replay", "--type", TYPE)
    relay = OutboxRelay(app, aliases=["orders"])
    try:
        assert relay.relay_pending() == 3
    finally:
        relay.close()
    assert OutboxMessage.objects.using("orders").filter(sent_at__isnull=False).count() == 3
    assert "3 outbox row(s)" in run("outbox", "list", "--state", "sent")


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_the_commands_name_what_is_wrong() -> None:
    with pytest.raises(CommandError, match="--since 'yesterday' is not an ISO 8601 time"):
        run("events", "list", "--since", "yesterday")
    with pytest.raises(CommandError, match="say which dead letters to replay"):
        run("events", "replay")
    with pytest.raises(CommandError, match="say which parked rows to replay"):
        run("outbox", "replay")
    with pytest.raises(CommandError, match="--database nowhere: not in DATABASES"):
        run("outbox", "list", "--database", "nowhere")
    with pytest.raises(CommandError, match="no dead letter #404"):
        run("events", "show", "404")
    with pytest.raises(CommandError, match=r"--days must be more than 0, not 0\.0"):
        run("events", "prune", "--days", "0")


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_prune_deletes_what_is_older_than_the_days_and_never_what_is_pending() -> None:
    from common_utils.django.models import EventKeyArrival, EventKeyPosition, ProcessedEvent

    old, recent = now() - timedelta(days=10), now() - timedelta(days=1)
    db = "billing"
    for i, at in enumerate((old, old, recent)):
        ProcessedEvent.objects.using(db).create(event_id=f"e{i}", handler="h", processed_at=at)
    for key, at in (("idle", old), ("busy", recent)):
        EventKeyPosition.objects.using(db).create(
            consumer="q", source="/s", key=key, sequence=3, updated_at=at
        )
    EventKeyArrival.objects.using(db).create(
        consumer="q", source="/s", key="waiting", sequence=2, arrived_at=old
    )
    letters = {
        name: DeadLetter.objects.using(db).create(
            event_id=name,
            event_type="t",
            queue="q",
            reason="handler-failed",
            error="x",
            attempts=1,
            envelope="{}",
            dead_at=old,
            replayed_at=replayed,
        )
        for name, replayed in (("replayed-long-ago", old), ("replayed", recent), ("kept", None))
    }
    out = run("events", "prune", "--days", "7", "--database", db)
    assert out.strip() == (
        "billing: 2 handled-event record(s), 1 key position(s), 1 replayed dead letter(s) deleted"
    )
    assert list(ProcessedEvent.objects.using(db).values_list("event_id", flat=True)) == ["e2"]
    assert list(EventKeyPosition.objects.using(db).values_list("key", flat=True)) == ["busy"]
    assert EventKeyArrival.objects.using(db).filter(key="waiting").exists()
    assert set(DeadLetter.objects.using(db).values_list("pk", flat=True)) == {
        letters["replayed"].pk,
        letters["kept"].pk,
    }


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_a_replay_to_a_queue_rabbitmq_does_not_have_fails_and_stays_unreplayed(
    celery_app_for: Any,
) -> None:
    from conftest import _amqp_broker

    for broker in _amqp_broker():
        celery_app_for(broker)
        event = json.loads(new_order_event(OrderPlaced(order_id=3, total=3)).to_json())
        letter = DeadLetter.objects.using("billing").create(
            event_id=event["id"],
            event_type=TYPE,
            queue="cu.nobody.listens",
            reason="handler-failed",
            attempts=3,
            envelope=json.dumps(event),
            dead_at=now(),
        )
        with pytest.raises(CommandError, match=r"not replayed to queue 'cu\.nobody\.listens'"):
            run("events", "replay", "--id", str(letter.pk), "--database", "billing")
        letter.refresh_from_db()
        assert letter.replayed_at is None
