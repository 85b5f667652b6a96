"""Graceful stop: relay and worker processes stopped mid-batch lose nothing and repeat nothing.

Real processes on PostgreSQL + RabbitMQ: ``manage.py outbox_relay`` and ``celery worker`` (prefork,
two children) with the billing consumer, whose handler takes a while inside its transaction. Along
one run, while events flow:

- a relay gets SIGTERM mid-batch: it finishes the batch (sent, confirmed, marked) and exits 0, so
  every event it sent is marked sent and nothing it claimed stays locked;
- a relay gets SIGKILL mid-batch: its claim rolls back, the next relay sends those rows again;
- a worker gets SIGTERM mid-task: it finishes the tasks in hand and exits 0; what it had prefetched
  goes back to the queue unacknowledged;
- a worker's process group gets SIGKILL mid-task: the unacknowledged messages are delivered again
  and the processed-event row keeps the second delivery from having an effect.

The events carry aggregate keys. At the end each committed event has exactly one invoice, and
each key's invoices were written in the order its events were committed. Readiness answering 503
from SIGTERM on is checked in a process of its own, with a real signal.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from typing import Any

import pytest
from cu_testproject.cu_billing.models import Invoice
from cu_testproject.cu_orders.models import Order
from cu_testproject.events import OrderPlaced, new_order_event

from common_utils.django import atomic_for, publish
from common_utils.django.events._outbox import pending_count
from common_utils.django.models import DeadLetter, OutboxMessage

ALL = ["default", "orders", "billing", "orders_replica"]
EVENTS = 600
BATCH = 50
KEYS = 60  # an aggregate per 10 events; more keys than a batch, so batches stay full


class Process:
    """A subprocess of the test project in its own session, its output collected line by line."""

    def __init__(
        self, env: dict[str, str], *args: str, signal_at: tuple[int, int] | None = None
    ) -> None:
        # ``signal_at``: (count, signal) sends the signal as soon as that many events are
        # published, from the thread that reads them (within a millisecond, so mid-batch however
        # fast the relay runs).
        self.signal_at = signal_at
        self.process = subprocess.Popen(
            [sys.executable, *args],
            env={**env, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # a process group of its own, children included
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if self.signal_at is not None and len(self.published()) == self.signal_at[0]:
                os.killpg(self.process.pid, self.signal_at[1])

    def published(self) -> list[str]:
        return [line.split()[-1] for line in self.lines if line.startswith("published event ")]

    def signal(self, signum: int, *, group: bool = False) -> int:
        """Send ``signum`` (to the whole process group with ``group``); return the exit code."""
        if group:
            os.killpg(self.process.pid, signum)
        else:
            self.process.send_signal(signum)
        code = self.process.wait(timeout=120)
        self._reader.join(timeout=30)
        return code

    def exit_code(self) -> int:
        """Wait for the process to end (a signal sent by ``signal_at``); return its exit code."""
        code = self.process.wait(timeout=120)
        self._reader.join(timeout=30)
        return code

    def received(self) -> list[str]:
        """The event ids a worker received (its INFO log), redeliveries included."""
        marker = "Task common_utils.deliver_event["
        return [
            line.split(marker, 1)[1].split("]", 1)[0]
            for line in self.lines
            if marker in line and line.rstrip().endswith("received")
        ]

    def output(self) -> str:
        return "\n".join(self.lines[-30:])

    def cleanup(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=60)
        if self.process.stdout is not None:
            self.process.stdout.close()


def relay(env: dict[str, str], *extra: str, signal_at: tuple[int, int] | None = None) -> Process:
    return Process(
        env,
        *("-m", "django", "outbox_relay", "-v", "2", "--database", "orders"),
        *("--batch-size", str(BATCH), "--poll-interval", "1.0", *extra),
        signal_at=signal_at,
    )


def worker(env: dict[str, str]) -> Process:
    return Process(
        {**env, "CU_TEST_HANDLER_SECONDS": "0.02"},
        *("-m", "celery", "-A", "cu_testproject.worker", "worker", "-Q", "cu.billing.events"),
        *("--pool", "prefork", "--concurrency", "2", "--loglevel", "INFO"),
        *("--without-heartbeat", "--without-gossip", "--without-mingle"),
    )


def _invoices() -> int:
    return Invoice.objects.using("billing").count()


def _queued(vhost: str, queue: str) -> int:
    """Messages in ``queue``, ready or delivered and not yet acknowledged (rabbitmqctl)."""
    from conftest import rabbitmqctl

    listing = rabbitmqctl("list_queues", "-p", vhost, "name", "messages", "--quiet")
    counts = dict(line.split("\t") for line in listing.splitlines() if "\t" in line)
    return int(counts[queue])


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.amqp
@pytest.mark.django_db(databases=ALL, transaction=True)
def test_sigterm_and_sigkill_mid_batch_lose_nothing_and_apply_nothing_twice(
    celery_app_for: Any, project_env: Any, wait: Any
) -> None:
    from conftest import POSTGRES_URL, _amqp_broker

    if not POSTGRES_URL:
        pytest.skip("COMMONS_TEST_POSTGRES_URL is not set")
    brokers = _amqp_broker()
    broker = next(brokers)
    processes: list[Process] = []

    def start(process: Process) -> Process:
        processes.append(process)
        return process

    try:
        from cu_testproject.consumer import consumer

        celery_app_for(broker)
        consumer.declare()  # the queue exists before the first event is routed
        env = project_env(broker)
        committed: list[str] = []
        key_of: dict[str, str] = {}
        for i in range(EVENTS):
            with atomic_for(Order):
                order = Order.objects.create(total=i)
                event = new_order_event(OrderPlaced(order_id=order.pk, total=i))
                publish(event, key=f"customer-{i % KEYS}")
            committed.append(event.id)
            key_of[event.id] = f"customer-{i % KEYS}"

        first_worker = start(worker(env))
        # 1. SIGTERM mid-batch: the relay finishes the batch in hand, marks it, exits 0.
        first = start(relay(env, signal_at=(BATCH + 10, signal.SIGTERM)))
        assert first.exit_code() == 0, first.output()
        sent = set(
            OutboxMessage.objects.using("orders")
            .filter(sent_at__isnull=False)
            .values_list("event_id", flat=True)
        )
        assert sent == set(first.published())
        assert len(sent) % BATCH == 0

        # 2. A worker stopped with SIGTERM mid-task finishes what it runs and exits 0.
        wait(lambda: _invoices() >= 20, timeout=120, what="invoices from the first worker")
        assert first_worker.signal(signal.SIGTERM) == 0, first_worker.output()
        assert "Warm shutdown" in first_worker.output() or "warm shutdown" in first_worker.output()
        second_worker = start(worker(env))

        # 3. SIGKILL mid-batch: the claim rolls back; the next relay sends those rows again.
        second = start(relay(env, signal_at=(BATCH + 1, signal.SIGKILL)))
        assert second.exit_code() == -signal.SIGKILL, second.output()
        resent = set(second.published())

        # 4. The worker's whole process group killed mid-task.
        handled = _invoices()
        wait(lambda: _invoices() >= handled + 20, timeout=120, what="invoices, second worker")
        second_worker.signal(signal.SIGKILL, group=True)

        # 5. A new relay and worker finish the work.
        third = start(relay(env, "--until-empty"))
        assert third.process.wait(timeout=300) == 0, third.output()
        assert pending_count(["orders"]) == 0
        third_worker = start(worker(env))
        wait(lambda: _invoices() >= EVENTS, timeout=300, what=f"{EVENTS} invoices")
        # Redeliveries still queued would show up as second invoices: let the queue drain.
        assert broker.vhost is not None
        wait(
            lambda: _queued(broker.vhost, consumer.queue_name) == 0,
            timeout=120,
            what="an empty queue, every message acknowledged",
        )
        assert third_worker.signal(signal.SIGTERM) == 0, third_worker.output()

        invoices = list(
            Invoice.objects.using("billing").order_by("id").values_list("event_id", flat=True)
        )
        assert sorted(invoices) == sorted(committed)  # each event once: none lost, none twice
        # Per key, the invoices were written in the order the events were committed.
        for key in {key_of[event_id] for event_id in committed}:
            in_commit_order = [event_id for event_id in committed if key_of[event_id] == key]
            assert [event_id for event_id in invoices if key_of[event_id] == key] == (
                in_commit_order
            ), key
        assert not DeadLetter.objects.using("billing").exists()
        sent_again = set(third.published()) & resent
        received = [
            event_id
            for process in (first_worker, second_worker, third_worker)
            for event_id in process.received()
        ]
        duplicates = len(received) - len(set(received))
        # The killed relay's unmarked rows were sent twice, and delivered twice, to no effect.
        assert set(received) == set(committed)
        assert duplicates >= len(sent_again) > 0
        print(
            f"\nevents={EVENTS} first_relay_sent={len(first.published())} "
            f"killed_relay_sent={len(resent)} sent_again={len(sent_again)} "
            f"deliveries={len(received)} duplicates={duplicates} invoices={len(invoices)}"
        )
    finally:
        for process in processes:
            process.cleanup()
        celery_app_for(broker)  # forget connections to the vhost before it goes
        for _ in brokers:  # runs the fixture's clean-up: the vhost goes
            pass


_DRAIN = """
import os, signal, sys
import django
django.setup()
from django.test import Client
from common_utils.django import drain_on_signals, is_draining
stopped = []
signal.signal(signal.SIGTERM, lambda signum, frame: stopped.append(signum))
drain_on_signals()
client = Client()
before = client.get("/healthz/ready/")
os.kill(os.getpid(), signal.SIGTERM)
after = client.get("/healthz/ready/")
print(before.status_code, after.status_code, after.json()["status"], is_draining(), stopped)
"""


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_readiness_answers_503_from_sigterm_on_and_the_previous_handler_still_runs(
    project_env: Any,
) -> None:
    from conftest import _filesystem_broker, run_python

    out = run_python(project_env(_filesystem_broker("drain")), "-c", textwrap.dedent(_DRAIN))
    before, after, status, draining, stopped = out.split(maxsplit=4)
    assert after == "503"
    assert status == "draining"
    assert draining == "True"
    assert stopped.strip() == f"[{int(signal.SIGTERM)}]"
    assert before == "200"  # draining began with the signal
