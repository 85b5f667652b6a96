"""No event lost: a relay killed mid-batch, a broker cut off and back, every event handled once.

The relay runs as a real subprocess (``manage.py outbox_relay -v 2`` prints each confirmed event)
and is killed with SIGKILL in the middle of a batch: events it published but had not marked sent
are published again by the next relay, so the consumer sees them twice and must apply them once.
Then, with the consumer stopped and events still queued, the broker is interrupted under a second
relay (RabbitMQ: this run's connections closed; Redis: a private server shut down and restarted
from its append-only file), and a new consumer drains the queue once it is back.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cu_testproject.cu_billing.models import Invoice
from cu_testproject.cu_orders.models import Order
from cu_testproject.events import OrderPlaced, new_order_event

from common_utils.django import atomic_for, publish
from common_utils.django.events._outbox import pending_count
from common_utils.django.models import OutboxMessage, ProcessedEvent

ALL = ["default", "orders", "billing", "orders_replica"]
COMMITTED = 1200
ROLLED_BACK = 60
BATCH = 200
KILL_AFTER = 500  # published lines seen: inside the third batch (400..600)
SQLITE_EVENTS = 300
SQLITE_BATCH = 20
RELAY_ROUNDS = 5  # rounds of events, until two relays have published


class _Rollback(Exception):
    pass


class RelayProcess:
    """``manage.py outbox_relay -v 2`` in a subprocess, its stdout collected line by line."""

    def __init__(self, env: dict[str, str], *extra: str, batch: int = BATCH) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "django",
                "outbox_relay",
                "-v",
                "2",
                "--database",
                "orders",
                "--batch-size",
                str(batch),
                "--poll-interval",
                "0.1",
                *extra,
            ],
            env={**env, "PYTHONUNBUFFERED": "1"},
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

    def published(self) -> list[str]:
        return [line.split()[-1] for line in self.lines if line.startswith("published event ")]

    def running(self) -> bool:
        return any(line.startswith("outbox relay running on ") for line in self.lines)

    def failures(self) -> list[str]:
        return [line for line in self.lines if "failed" in line and "publishing" in line]

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self._finish()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self._finish()

    def _finish(self) -> None:
        self.process.wait(timeout=60)
        self._reader.join(timeout=30)
        if self.process.stdout is not None:
            self.process.stdout.close()


def _commit_events() -> tuple[list[str], list[str]]:
    committed: list[str] = []
    rolled_back: list[str] = []
    for i in range(COMMITTED + ROLLED_BACK):
        doomed = i % ((COMMITTED + ROLLED_BACK) // ROLLED_BACK) == 0
        try:
            with atomic_for(Order):
                order = Order.objects.create(total=i)
                event = new_order_event(OrderPlaced(order_id=order.pk, total=i))
                publish(event)
                if doomed:
                    raise _Rollback
        except _Rollback:
            rolled_back.append(event.id)
        else:
            committed.append(event.id)
    return committed, rolled_back


@pytest.mark.slow
@pytest.mark.django_db(databases=ALL, transaction=True)
def test_no_committed_event_is_lost_and_none_is_applied_twice(
    restartable_broker: Any, consumer_worker: Any, project_env: Any, wait: Any
) -> None:
    broker = restartable_broker
    committed, rolled_back = _commit_events()
    assert len(committed) == COMMITTED
    assert len(rolled_back) == ROLLED_BACK
    env = project_env(broker)

    deliveries: list[str] = []
    with consumer_worker(broker) as first_deliveries:
        # 1. A relay killed in the middle of a batch, its consumer running.
        first = RelayProcess(env)
        wait(lambda: len(first.published()) >= KILL_AFTER, timeout=120, what="the first relay")
        first.kill()
        published_before_kill = set(first.published())
        marked_sent = set(
            OutboxMessage.objects.using("orders")
            .filter(sent_at__isnull=False)
            .values_list("event_id", flat=True)
        )
        # The kill came mid-batch: some events reached the broker but were never marked sent.
        unmarked = published_before_kill - marked_sent
        assert marked_sent < published_before_kill
        assert len(marked_sent) % BATCH == 0
        assert unmarked
    # The consumer is stopped (a deploy, a crash) with events still queued; what it had taken
    # but not acknowledged goes back to the queue.
    deliveries += first_deliveries

    # 2. A second relay, started while the broker is cut off, which must wait for it.
    if broker.kind != "filesystem":
        broker.stop()
    second = RelayProcess(env, "--until-empty")
    if broker.kind != "filesystem":
        wait(lambda: len(second.failures()) >= 2, timeout=120, what="failed publishes")
        assert not second.published()
        broker.start()
    second.process.wait(timeout=300)
    second.stop()
    assert second.process.returncode == 0, "\n".join(second.lines[-20:])
    if broker.kind != "filesystem":
        assert second.failures(), "the relay never noticed the broker going away"
    assert pending_count(["orders"]) == 0

    # 3. A consumer started after the broker came back drains the queue.
    with consumer_worker(broker) as later_deliveries:
        # Every committed event applied, each once; the unmarked ones were delivered twice. A
        # ceiling, not a speed goal: Celery's in-thread test worker drains about 50 events a
        # second here but idles 10 s at a time with messages prefetched, and on a loaded machine
        # the 1,200 took over 300 s.
        wait(
            lambda: ProcessedEvent.objects.using("billing").count() >= COMMITTED,
            timeout=900,
            what=f"{COMMITTED} handled events",
        )
        wait(
            lambda: len(deliveries) + len(later_deliveries) >= COMMITTED + len(unmarked),
            timeout=120,
            what="the redelivered duplicates",
        )
    deliveries += later_deliveries

    invoices = list(Invoice.objects.using("billing").values_list("event_id", flat=True))
    assert len(invoices) == COMMITTED
    assert set(invoices) == set(committed)
    assert not set(rolled_back) & set(deliveries)
    assert not OutboxMessage.objects.using("orders").filter(event_id__in=rolled_back).exists()
    duplicates = len(deliveries) - len(set(deliveries))
    assert duplicates >= len(unmarked) > 0
    print(
        f"\n[{broker.kind}] committed={COMMITTED} rolled_back={ROLLED_BACK} "
        f"published_before_kill={len(published_before_kill)} marked_before_kill={len(marked_sent)} "
        f"deliveries={len(deliveries)} duplicates={duplicates} effects={len(invoices)} "
        f"relay_failures={len(second.failures())}"
    )


def _compete(
    relays: list[RelayProcess], commit_round: Callable[[], list[str]], wait: Any
) -> tuple[list[str], list[str]]:
    """Relays already running, events committed in rounds: the ids committed and published.

    Each relay is up first (a loaded machine starts them seconds apart), then a round of events is
    committed and waited for in full, until at least two relays have published (one relay can win
    every turn of a round) or ``RELAY_ROUNDS`` rounds have gone; the relays are then stopped.
    """
    wait(lambda: all(relay.running() for relay in relays), timeout=120, what="three relays")
    committed: list[str] = []
    for _ in range(RELAY_ROUNDS):
        committed += commit_round()

        def all_published(expected: int = len(committed)) -> bool:
            return sum(len(relay.published()) for relay in relays) >= expected

        wait(all_published, timeout=300, what=f"{len(committed)} published events")
        if sum(1 for relay in relays if relay.published()) >= 2:
            break
    for relay in relays:
        relay.stop()
        assert relay.process.returncode == 0, "\n".join(relay.lines[-20:])
    return committed, [event_id for relay in relays for event_id in relay.published()]


@pytest.mark.postgres
@pytest.mark.django_db(databases=ALL, transaction=True)
def test_concurrent_relays_claim_disjoint_batches(project_env: Any, wait: Any) -> None:
    from conftest import POSTGRES_URL, _filesystem_broker

    if not POSTGRES_URL:
        pytest.skip("COMMONS_TEST_POSTGRES_URL is not set")
    env = project_env(_filesystem_broker("concurrent"))
    # The relays run before the events are committed (a relay started on a full outbox can drain
    # it before the others are up), and all of them are woken by each commit; events are
    # committed in rounds until at least two relays have published.
    relays = [RelayProcess(env) for _ in range(3)]
    committed, published = _compete(relays, lambda: _commit_events()[0], wait)
    # SELECT ... FOR UPDATE SKIP LOCKED: every event published by exactly one relay.
    assert sorted(published) == sorted(committed)
    assert sum(1 for relay in relays if relay.published()) >= 2


_FILL_SQLITE = """
import json, sys
import django
django.setup()
from cu_testproject.cu_orders.models import Order
from cu_testproject.events import OrderPlaced, new_order_event
from common_utils.django import atomic_for, publish
ids = []
for i in range(int(sys.argv[1])):
    with atomic_for(Order):
        order = Order.objects.create(total=i)
        event = new_order_event(OrderPlaced(order_id=order.pk, total=i))
        publish(event)
    ids.append(event.id)
print(json.dumps(ids))
"""


def _run_json(env: dict[str, str], code: str, *args: str) -> Any:
    """Run ``code`` in a subprocess of the test project and return the JSON it prints last."""
    from conftest import run_python

    return json.loads(run_python(env, "-c", code, *args).splitlines()[-1])


def _sqlite_project_env(tmp_path: Path, broker: Any) -> dict[str, str]:
    """The test project on its own SQLite files (whatever the run's databases are), migrated."""
    from conftest import run_python, sqlite_databases, subprocess_env

    env = subprocess_env(broker)
    env["CU_TEST_DATABASES"] = json.dumps(sqlite_databases(tmp_path), default=str)
    for alias in ("default", "orders", "billing"):
        # --run-syncdb: the test project's apps have no migrations.
        run_python(
            env, "-m", "django", "migrate", "--run-syncdb", "--database", alias, "--no-input"
        )
    return env


@pytest.mark.slow
def test_concurrent_relays_on_sqlite_publish_each_event_once(tmp_path: Path, wait: Any) -> None:
    """SQLite has no SKIP LOCKED: relays take turns on the claim and lease what they took."""
    from conftest import _filesystem_broker

    env = _sqlite_project_env(tmp_path, _filesystem_broker("sqlite-relays"))
    # The relays start first and poll while the events are committed one by one, so all three
    # compete for them however fast one of them starts (a relay started on a full outbox
    # could drain it alone before the others are up).
    relays = [RelayProcess(env, batch=SQLITE_BATCH) for _ in range(3)]
    committed, published = _compete(
        relays, lambda: _run_json(env, _FILL_SQLITE, str(SQLITE_EVENTS)), wait
    )
    assert len(published) == len(committed)
    assert sorted(published) == sorted(committed)  # each event once, none lost
    assert sum(1 for relay in relays if relay.published()) >= 2


_SQLITE_LEASES = """
import json, os, sys
from datetime import timedelta
import django
django.setup()
from common_utils.django.events._outbox import claim_batch
from common_utils.django.models import OutboxMessage

rows = OutboxMessage.objects.using("orders")
if sys.argv[1] == "die":
    with claim_batch("orders", limit=3) as batch:
        print(json.dumps([m.event_id for m in batch.messages]), flush=True)
        os._exit(9)  # the relay dies inside the block, before it records anything
with claim_batch("orders") as batch:
    others = [m.event_id for m in batch.messages]
    batch.sent(batch.messages[0])  # the second is neither sent nor failed: it is given back
with claim_batch("orders") as batch:
    given_back = [m.event_id for m in batch.messages]
    batch.sent(batch.messages[0])
lease_end = max(rows.filter(sent_at__isnull=True).values_list("next_attempt_at", flat=True))
with claim_batch("orders", now=lease_end - timedelta(seconds=1)) as batch:
    during_lease = [m.event_id for m in batch.messages]
with claim_batch("orders", now=lease_end) as batch:
    after_lease = [m.event_id for m in batch.messages]
print(json.dumps({
    "others": others, "given_back": given_back,
    "during_lease": during_lease, "after_lease": after_lease,
}))
"""


def test_on_sqlite_a_dead_relays_rows_come_back_when_its_lease_ends(tmp_path: Path) -> None:
    from conftest import _filesystem_broker, run_python

    env = _sqlite_project_env(tmp_path, _filesystem_broker("sqlite-leases"))
    # The lease outlasts the next process's start however loaded the machine (the steps after it
    # name their own "now").
    env["CU_TEST_CLAIM_TIMEOUT"] = "600"
    committed = _run_json(env, _FILL_SQLITE, "5")
    claimed_by_dead = json.loads(run_python(env, "-c", _SQLITE_LEASES, "die", returncode=9))
    assert claimed_by_dead == committed[:3]
    seen = _run_json(env, _SQLITE_LEASES, "after")
    assert seen["others"] == committed[3:]  # the dead relay's rows are leased, not due
    assert seen["given_back"] == committed[4:]
    assert seen["during_lease"] == []
    assert seen["after_lease"] == committed[:3]
