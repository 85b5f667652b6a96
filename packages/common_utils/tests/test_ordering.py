"""Order per aggregate: a key's events reach each consumer in commit order, keys run in parallel.

The end-to-end test runs two relays (``manage.py outbox_relay`` subprocesses) and three worker
processes (``celery worker``, two children each) for two consumers, on RabbitMQ when
``COMMONS_TEST_AMQP_URL`` is set and on the embedded broker, with the run's databases
(PostgreSQL when ``COMMONS_TEST_POSTGRES_URL`` is set). The other tests pin down the parts:
numbering at publish, the relay's head-of-key claim, a consumer waiting out a missing event.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import pytest
from cu_testproject.cu_billing.models import HandledEvent, Invoice
from cu_testproject.cu_orders.models import Order
from cu_testproject.events import OrderPaid, OrderPlaced, new_order_event
from django.core.management import call_command
from django.db import connections
from django.test import override_settings
from django.utils import timezone

from common_utils import Envelope, InvalidEventError, OutboxError, parse_event
from common_utils.django import atomic_for, publish
from common_utils.django.events import OutboxRelay
from common_utils.django.events._outbox import claim_batch, select_outbox_rows, unpark
from common_utils.django.models import (
    DeadLetter,
    EventKeyArrival,
    EventKeyPosition,
    OutboxKey,
    OutboxMessage,
)

ALL = ["default", "orders", "billing", "orders_replica"]
PLACED = "cu.orders.order_placed.v1"
PAID = "cu.orders.order_paid.v1"


def _publish(data: OrderPlaced | OrderPaid, key: str | None) -> str:
    with atomic_for(Order):
        event: Envelope[Any] = new_order_event(data)
        publish(event, key=key)
    return event.id


def _payload(event_id: str) -> dict[str, Any]:
    row = OutboxMessage.objects.using("orders").get(event_id=event_id)
    doc: dict[str, Any] = json.loads(row.payload)
    assert (row.aggregate_key, row.key_sequence) == (
        doc.get("partitionkey"),
        doc.get("keysequence"),
    )
    return doc


# --- publish: numbering -------------------------------------------------------------------------


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_publish_numbers_a_keys_events_and_names_the_ones_before_by_type() -> None:
    a1 = _publish(OrderPlaced(order_id=1, total=1), "a")
    a2 = _publish(OrderPaid(order_id=1, amount=1), "a")
    b1 = _publish(OrderPaid(order_id=2, amount=1), "b")
    a3 = _publish(OrderPlaced(order_id=1, total=2), "a")
    a4 = _publish(OrderPaid(order_id=1, amount=2), "a")
    plain = _publish(OrderPlaced(order_id=3, total=1), None)

    docs = {event_id: _payload(event_id) for event_id in (a1, a2, b1, a3, a4, plain)}
    assert [(docs[e].get("partitionkey"), docs[e].get("keysequence")) for e in docs] == [
        ("a", 1),
        ("a", 2),
        ("b", 1),
        ("a", 3),
        ("a", 4),
        (None, None),
    ]
    assert "keyprior" not in docs[a1]
    assert docs[a2]["keyprior"] == f"{PLACED}:1"
    assert docs[a4]["keyprior"] == f"{PAID}:2 {PLACED}:3"
    assert "keyprior" not in docs[b1]
    # What a consumer of some of the types waits for.
    a4_event = parse_event(docs[a4])
    assert a4_event.prior_in([PAID]) == 2
    assert a4_event.prior_in([PLACED, PAID]) == 3
    assert a4_event.prior_in(["other.v1"]) == 0
    assert parse_event(docs[a2]).prior_in([PAID]) == 0
    assert OutboxKey.objects.using("orders").get(key="a").last_sequence == 4


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_publish_refuses_a_bad_key_naming_it() -> None:
    event = new_order_event(OrderPlaced(order_id=1, total=1))
    with atomic_for(Order):
        with pytest.raises(OutboxError, match="1 to 200 characters, not ''"):
            publish(event, key="")
        with pytest.raises(OutboxError, match=r"\(201 characters\)"):
            publish(event, key="k" * 201)
        keyed = event.model_copy(update={"partitionkey": "a", "keysequence": 1})
        with pytest.raises(OutboxError, match="already carries key 'a'"):
            publish(keyed, key="b")
    assert not OutboxMessage.objects.using("orders").exists()


def test_an_event_with_a_key_and_no_number_or_a_bad_prior_is_unreadable() -> None:
    doc = json.loads(new_order_event(OrderPlaced(order_id=1, total=1)).to_json())
    with pytest.raises(InvalidEventError, match="partitionkey and keysequence"):
        parse_event({**doc, "partitionkey": "a"})
    with pytest.raises(InvalidEventError, match="keyprior"):
        parse_event({**doc, "partitionkey": "a", "keysequence": 2, "keyprior": "no-number"})
    with pytest.raises(InvalidEventError, match="keysequence"):
        parse_event({**doc, "partitionkey": "a", "keysequence": 0})


@pytest.mark.postgres
@pytest.mark.django_db(databases=ALL, transaction=True)
def test_concurrent_transactions_on_one_key_are_numbered_in_commit_order() -> None:
    if connections["orders"].vendor != "postgresql":
        pytest.skip("needs PostgreSQL (COMMONS_TEST_POSTGRES_URL): SQLite has one writer")
    published: dict[str, float] = {}
    committing: dict[str, float] = {}
    errors: list[BaseException] = []

    def place(i: int) -> None:
        try:
            with atomic_for(Order):
                event = new_order_event(OrderPlaced(order_id=i, total=i))
                publish(event, key="hot")
                published[event.id] = time.monotonic()
                time.sleep(0.05)  # the transaction stays open: the next one waits its turn
                committing[event.id] = time.monotonic()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=place, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    rows = list(
        OutboxMessage.objects.using("orders")
        .order_by("key_sequence")
        .values_list("event_id", "key_sequence")
    )
    assert [n for _, n in rows] == list(range(1, 9))
    # Number n+1 was given only after number n's transaction had finished its work.
    for (before, _), (after, _) in pairwise(rows):
        assert published[after] >= committing[before]


# --- the relay: only the head of each key ---------------------------------------------------------


def _claim(limit: int = 50) -> set[str]:
    """Claim a batch in another thread (another relay) and publish nothing: the event ids."""
    got: set[str] = set()

    def claim() -> None:
        try:
            with claim_batch("orders", limit=limit) as batch:
                got.update(m.event_id for m in batch.messages)
        finally:
            connections.close_all()

    thread = threading.Thread(target=claim)
    thread.start()
    thread.join(timeout=60)
    return got


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_the_relay_claims_only_the_head_of_each_key() -> None:
    a1, a2, a3 = (_publish(OrderPlaced(order_id=1, total=i), "a") for i in range(3))
    b1, b2 = (_publish(OrderPaid(order_id=2, amount=i), "b") for i in range(2))
    plain = _publish(OrderPlaced(order_id=3, total=1), None)

    with claim_batch("orders", limit=50) as batch:
        assert {m.event_id for m in batch.messages} == {a1, b1, plain}
        # Another relay meanwhile: the heads are taken and the rows after them wait.
        assert _claim() == set()
        for message in batch.messages:
            if message.event_id != b1:
                batch.sent(message)
    # b1 was neither sent nor failed: it heads its key still.
    assert _claim() == {a2, b1}
    with claim_batch("orders", limit=50) as batch:
        for message in batch.messages:
            batch.sent(message)
    with (
        override_settings(COMMON_UTILS={**_conf(), "OUTBOX_MAX_ATTEMPTS": 1}),
        claim_batch("orders", limit=50) as batch,
    ):
        assert {m.event_id for m in batch.messages} == {a3, b2}
        for message in batch.messages:
            batch.failed(message, "the broker said no")
    # Parked rows hold up their keys, and only those.
    a4 = _publish(OrderPlaced(order_id=1, total=9), "a")
    c1 = _publish(OrderPlaced(order_id=4, total=1), "c")
    assert _claim() == {c1}
    out = io.StringIO()
    call_command("outbox", "show", str(_pk(a3)), "--database", "orders", stdout=out)
    assert "key: a #3\nstate: parked\n" in out.getvalue()
    assert unpark(select_outbox_rows("orders", ids=[_pk(a3)])) == 1
    assert _claim() == {a3, c1}
    with claim_batch("orders", limit=50) as batch:
        for message in batch.messages:
            batch.sent(message)
    assert _claim() == {a4}


def _pk(event_id: str) -> int:
    pk: int = OutboxMessage.objects.using("orders").get(event_id=event_id).id
    return pk


def _conf() -> dict[str, Any]:
    from django.conf import settings

    return dict(settings.COMMON_UTILS)


# --- the consumer: an event that never arrives -------------------------------------------------


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_a_consumer_waits_for_a_missing_event_then_goes_on_without_it(
    broker: Any, consumer_worker: Any, wait: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cu_testproject.celery_app import app
    from cu_testproject.consumer import consumer

    if broker.kind == "redis":
        pytest.skip("RabbitMQ and the embedded broker cover the consumer's waiting")
    monkeypatch.setattr(consumer, "order_gap_timeout", 1.5)
    monkeypatch.setattr(consumer, "order_poll_max", 0.1)
    with consumer_worker(broker):
        # Number 2 of key "gap", naming a number 1 that was never published (as when a queue
        # is bound to a type after its first events went out).
        with atomic_for(Order):
            order = Order.objects.create(total=5)
            event = new_order_event(OrderPlaced(order_id=order.pk, total=5)).model_copy(
                update={"partitionkey": "gap", "keysequence": 2, "keyprior": f"{PLACED}:1"}
            )
            stamp = timezone.now()
            OutboxMessage.objects.using("orders").create(
                event_id=event.id,
                event_type=PLACED,
                payload=event.to_json(),
                created_at=stamp,
                next_attempt_at=stamp,
            )
        relay = OutboxRelay(app, aliases=["orders"])
        started = time.monotonic()
        try:
            relay.relay_pending()
        finally:
            relay.close()
        wait(
            lambda: Invoice.objects.using("billing").filter(order_id=order.pk).exists(),
            timeout=60,
            what="the event handled once the wait ran out",
        )
        waited = time.monotonic() - started
    assert waited >= 1.5
    position = EventKeyPosition.objects.using("billing").get(consumer=consumer.queue_name)
    assert (position.source, position.key, position.sequence) == ("/cu/orders", "gap", 2)
    assert not EventKeyArrival.objects.using("billing").exists()


# --- end to end: several relays, several worker processes ----------------------------------------

KEYS = 12
ROUNDS = 8  # per key: placed, paid, placed, paid, ...
POISONED = {(0, 2), (1, 3)}  # (key index, round): key 0's third event, key 1's fourth


class WorkerProcess:
    """``celery worker`` for one consumer of ``cu_testproject.ordered``, two pool children."""

    def __init__(self, env: dict[str, str], name: str, hostname: str) -> None:
        from cu_testproject.ordered import queue_of

        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "cu_testproject.ordered",
                "worker",
                "-Q",
                queue_of(name),
                "-c",
                "2",
                "--pool",
                "prefork",
                "-n",
                hostname,
                "-l",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            env={**env, "CU_TEST_ORDERED_CONSUMER": name, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
        self._reader.join(timeout=30)
        if self.process.stdout is not None:
            self.process.stdout.close()


def _explain(workers: list[WorkerProcess], relays: list[Any], handles: dict[str, Any]) -> None:
    """Print what the processes said and how far each consumer came, for a failed wait."""
    for process in [*workers, *relays]:
        print("\n".join(process.lines[-40:]))
    for queue in handles:
        handled = HandledEvent.objects.using("billing").filter(consumer=queue).count()
        letters = DeadLetter.objects.using("billing").filter(queue=queue).count()
        waiting = EventKeyArrival.objects.using("billing").filter(consumer=queue).count()
        print(f"{queue}: handled={handled} dead={letters} waiting={waiting}")
    print(f"outbox pending: {OutboxMessage.objects.using('orders').filter(sent_at=None).count()}")


@pytest.fixture(params=["filesystem", "amqp"])
def ordering_broker(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The embedded broker, and RabbitMQ when ``COMMONS_TEST_AMQP_URL`` is set."""
    from conftest import _amqp_broker, _filesystem_broker

    if request.param == "filesystem":
        yield _filesystem_broker("ordering")
    else:
        yield from _amqp_broker()


def _declare(broker: Any) -> None:
    """Declare both consumers' queues, so no event published from now on is dropped."""
    from celery import Celery
    from cu_testproject.ordered import CONSUMERS, make_consumer

    for name in CONSUMERS:
        app = Celery(f"cu_ordered_declare_{name}")
        app.conf.update(
            broker_url=broker.url,
            broker_transport_options=broker.options,
            broker_transport=broker.transport,
        )
        make_consumer(name, app).declare()
        app.close()


@pytest.mark.slow
@pytest.mark.django_db(databases=ALL, transaction=True)
def test_each_consumer_sees_each_keys_events_in_commit_order_across_relays_and_workers(
    ordering_broker: Any, project_env: Any, wait: Any
) -> None:
    from cu_testproject.ordered import GAP_TIMEOUT, MAX_RETRIES, RETRY_BACKOFF, queue_of
    from test_no_event_lost import RelayProcess

    broker = ordering_broker
    env = project_env(broker)
    _declare(broker)
    workers = [
        WorkerProcess(env, "all", f"all1-{os.getpid()}@%h"),
        WorkerProcess(env, "all", f"all2-{os.getpid()}@%h"),
        WorkerProcess(env, "paid", f"paid-{os.getpid()}@%h"),
    ]
    # One relay sends an event a message, the other a type's events of a batch together.
    relays = [RelayProcess(env, batch=10), RelayProcess(env, "--delivery-batch", "10", batch=10)]
    committed: list[tuple[str, str, str]] = []  # (key, event id, type) in commit order
    poisoned: dict[str, tuple[str, str]] = {}  # event id -> (key, type)
    try:
        with atomic_for(Order):
            orders = [Order.objects.create(total=0) for _ in range(KEYS)]
        for r in range(ROUNDS):
            for k, order in enumerate(orders):
                bad = (k, r) in POISONED
                data: OrderPlaced | OrderPaid = (
                    OrderPlaced(order_id=order.pk, total=-1 if bad else r)
                    if r % 2 == 0
                    else OrderPaid(order_id=order.pk, amount=-1 if bad else r)
                )
                key = str(order.pk)
                event_id = _publish(data, key)
                event_type = PLACED if r % 2 == 0 else PAID
                committed.append((key, event_id, event_type))
                if bad:
                    poisoned[event_id] = (key, event_type)

        handles = {queue_of("all"): {PLACED, PAID}, queue_of("paid"): {PAID}}
        expected = {
            queue: [c for c in committed if c[2] in types and c[1] not in poisoned]
            for queue, types in handles.items()
        }
        letters_expected = {
            queue: {e for e, (_, t) in poisoned.items() if t in types}
            for queue, types in handles.items()
        }

        def done() -> bool:
            handled = HandledEvent.objects.using("billing")
            letters = DeadLetter.objects.using("billing")
            return all(
                handled.filter(consumer=queue).count() >= len(expected[queue])
                and letters.filter(queue=queue).count() >= len(letters_expected[queue])
                for queue in handles
            )

        try:
            wait(done, timeout=240, what="every event handled or dead-lettered")
        except BaseException:
            _explain(workers, relays, handles)
            raise
    finally:
        for relay in relays:
            relay.stop()
        for worker in workers:
            worker.stop()

    position = {event_id: i for i, (_, event_id, _) in enumerate(committed)}
    for queue, events in expected.items():
        rows = list(HandledEvent.objects.using("billing").filter(consumer=queue).order_by("id"))
        got = [row.event_id for row in rows]
        assert len(got) == len(set(got)) == len(events), f"{queue}: each event handled once"
        by_key: dict[str, list[str]] = defaultdict(list)
        for row in rows:
            by_key[row.key].append(row.event_id)
        want: dict[str, list[str]] = defaultdict(list)
        for key, event_id, _ in events:
            want[key].append(event_id)
        if by_key != want:  # the workers' lines say whether an event's gap timeout ran out
            _explain(workers, relays, handles)
        assert by_key == want, f"{queue}: a key's events out of commit order"
        # Keys ran side by side, not one after the other, in more than one worker process.
        switches = sum(1 for a, b in pairwise(rows) if a.key != b.key)
        assert switches >= KEYS, f"{queue}: keys were not interleaved ({switches} switches)"
        assert len({row.pid for row in rows}) >= 2, f"{queue}: one worker process did it all"

        # A poisoned event: retried, dead-lettered, and only then its key's later events.
        letters = {
            d.event_id: d
            for d in DeadLetter.objects.using("billing").filter(queue=queue, replayed_at=None)
        }
        assert set(letters) == letters_expected[queue]
        for event_id, letter in letters.items():
            assert (letter.reason, letter.attempts) == ("handler-failed", MAX_RETRIES + 1)
            key = poisoned[event_id][0]
            later_same_key = [
                r for r in rows if r.key == key and position[r.event_id] > position[event_id]
            ]
            assert later_same_key
            assert min(r.handled_at for r in later_same_key) >= letter.dead_at
            # ... while the other keys went on: events committed after it handled before.
            overtaking = [
                r
                for r in rows
                if r.key != key
                and position[r.event_id] > position[event_id]
                and r.handled_at < letter.dead_at
            ]
            assert overtaking, f"{queue}: the poisoned event held up other keys"
        # The wait outlasted the consumer's gap timeout: the later events waited because the
        # poisoned one had arrived, not by the clock.
        assert RETRY_BACKOFF * (2**MAX_RETRIES - 1) > GAP_TIMEOUT
    assert not EventKeyArrival.objects.using("billing").exists()
    published = [len(relay.published()) for relay in relays]
    print(f"\n[{broker.kind}] events={len(committed)} published per relay={published}")
