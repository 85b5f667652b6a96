"""Benchmark: events through outbox -> relay -> broker -> consumer, against plain Celery send_task.

Run with ``nox -s bench -- events`` (or ``python benchmarks/bench_events.py``). It prints:

- end to end: events per second from the first relay claim to the last handled event, against
  ``app.send_task()`` of the same payloads to a plain task doing the same insert, consumed by the
  same worker (the baseline), in the same run;
- the cost ``publish()`` adds to a transaction: commits per second of a transaction inserting one
  business row, with and without ``publish()`` of an event (the two kinds interleaved, medians).

Embedded defaults: SQLite files and kombu's filesystem transport in a temporary folder. Set
``BENCH_EVENTS_BROKER_URL`` (e.g. amqp://guest:guest@127.0.0.1:5672//) to use a real broker.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import django
import pydantic
from django.conf import settings

TMP = Path(tempfile.mkdtemp(prefix="bench-events-"))
WARM_UP = 20  # transactions of each kind run before the measured ones


def configure(broker_url: str | None) -> dict[str, Any]:
    from common_utils.django import database_from_url

    settings.configure(
        USE_TZ=True,
        INSTALLED_APPS=["django.contrib.contenttypes", "common_utils.django"],
        DATABASES={
            alias: database_from_url(f"sqlite:///{TMP / alias}.sqlite3", alias=alias)
            for alias in ("default", "billing")
        },
        COMMON_UTILS={"OUTBOX_BATCH_SIZE": 200},
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    )
    django.setup()
    if broker_url:
        return {"url": broker_url, "options": {}, "transport": None}
    folder = TMP / "broker"
    for sub in ("data", "control"):
        (folder / sub).mkdir(parents=True)
    from common_utils.django.events import FILESYSTEM_TRANSPORT

    return {
        "url": "filesystem://",
        "transport": FILESYSTEM_TRANSPORT,
        "options": {
            "data_folder_in": str(folder / "data"),
            "data_folder_out": str(folder / "data"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
        },
    }


def main() -> None:  # noqa: PLR0915 - one linear script reads best top to bottom
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--transactions", type=int, default=2000)
    args = parser.parse_args()
    broker = configure(os.environ.get("BENCH_EVENTS_BROKER_URL"))

    from celery import Celery
    from celery.contrib.testing.worker import start_worker
    from django.core.management import call_command
    from django.db import connection, connections, transaction
    from kombu import Queue

    from common_utils import Envelope, event_type, new_event
    from common_utils.django import publish
    from common_utils.django.events import EventConsumer, OutboxRelay
    from common_utils.django.models import OutboxMessage

    call_command("migrate_all", verbosity=0, interactive=False)
    for alias in ("default", "billing"):
        with connections[alias].cursor() as cursor:
            cursor.execute("CREATE TABLE bench_row (id INTEGER PRIMARY KEY, ref TEXT)")

    @event_type("bench.order.placed")
    class OrderPlaced(pydantic.BaseModel):
        order_id: int
        total: int

    app = Celery("bench_events")
    app.conf.update(
        broker_url=broker["url"],
        broker_transport_options=broker["options"],
        broker_transport=broker["transport"],
        task_ignore_result=True,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
    )
    consumer = EventConsumer(app, queue="bench.events", using="billing")
    handled = {"outbox": 0, "plain": 0}
    lock = threading.Lock()

    def insert_row(ref: str) -> None:
        with connections["billing"].cursor() as cursor:
            cursor.execute("INSERT INTO bench_row (ref) VALUES (%s)", [ref])

    @consumer.handler(OrderPlaced, name="bench.invoice")
    def invoice(event: Envelope[OrderPlaced]) -> None:
        insert_row(event.id)
        with lock:
            handled["outbox"] += 1

    @app.task(name="bench.plain_invoice")
    def plain_invoice(payload: dict[str, Any]) -> None:
        with transaction.atomic(using="billing"):
            insert_row(payload["id"])
        with lock:
            handled["plain"] += 1

    app.conf.task_queues = (consumer.queue, Queue("bench.plain"))
    consumer.declare()

    def wait_for(key: str, count: int) -> None:
        deadline = time.monotonic() + 600
        while handled[key] < count:
            if time.monotonic() > deadline:
                raise SystemExit(f"{key}: only {handled[key]} of {count} handled")
            time.sleep(0.005)

    # --- publish() cost in a transaction ------------------------------------------------------
    def business_tx(i: int, with_event: bool) -> None:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("INSERT INTO bench_row (ref) VALUES (%s)", [f"order-{i}"])
            if with_event:
                publish(new_event(OrderPlaced(order_id=i, total=i), source="/bench"))

    # Interleaved, one of each in turn, and the median kept: run one after the other, the first
    # series paid the warm-up and disk noise (an SQLite commit waits for fsync) and publish()
    # came out cheaper than nothing.
    durations: dict[str, list[float]] = {"tx": [], "tx+publish": []}
    for i in range(-WARM_UP, args.transactions):
        for label, with_event in (("tx", False), ("tx+publish", True)):
            started = time.perf_counter()
            business_tx(i, with_event)
            if i >= 0:
                durations[label].append(time.perf_counter() - started)
    timings = {label: statistics.median(values) for label, values in durations.items()}
    OutboxMessage.objects.all().delete()

    # --- end to end (two rounds each, alternating, best kept: the first pays warm-up) ---------
    def fill_outbox() -> list[dict[str, Any]]:
        with transaction.atomic():
            events = [
                new_event(OrderPlaced(order_id=i, total=i), source="/bench")
                for i in range(args.events)
            ]
            for event in events:
                publish(event)
        return [event.model_dump(mode="json") for event in events]

    def run_plain(payloads: list[dict[str, Any]]) -> float:
        handled["plain"] = 0
        started = time.perf_counter()
        for payload in payloads:
            app.send_task("bench.plain_invoice", args=[payload], queue="bench.plain")
        wait_for("plain", len(payloads))
        return time.perf_counter() - started

    def run_outbox(count: int) -> float:
        handled["outbox"] = 0
        started = time.perf_counter()
        relay = OutboxRelay(app, aliases=["default"])
        stop = threading.Event()
        relay_thread = threading.Thread(
            target=lambda: relay.run(poll_interval=0.05, until_empty=True, stop=stop)
        )
        relay_thread.start()
        wait_for("outbox", count)
        elapsed = time.perf_counter() - started
        stop.set()
        relay_thread.join()
        return elapsed

    plain_runs: list[float] = []
    outbox_runs: list[float] = []
    with start_worker(
        app, perform_ping_check=False, queues=["bench.events", "bench.plain"], shutdown_timeout=60
    ):
        for _ in range(2):
            payloads = fill_outbox()
            plain_runs.append(run_plain(payloads))
            outbox_runs.append(run_outbox(len(payloads)))
    plain_seconds, outbox_seconds = min(plain_runs), min(outbox_runs)
    # Each round's events went through both paths: every event id must be in two rows, no more.
    with connections["billing"].cursor() as cursor:
        cursor.execute("SELECT COUNT(*), COUNT(DISTINCT ref) FROM bench_row")
        rows, distinct = cursor.fetchone()
    if (rows, distinct) != (4 * args.events, 2 * args.events):
        raise SystemExit(
            f"expected each of {2 * args.events} events handled once per path, "
            f"found {rows} rows for {distinct} events"
        )

    n, t = args.events, args.transactions
    print(f"\nevents: {n}, broker: {broker['url']}, databases: SQLite files")
    print(f"checked: {distinct} events, each handled once by each path\n")
    print(f"{'path':<44}{'events/s':>12}{'ratio':>10}")
    print(f"{'send_task -> worker (baseline)':<44}{n / plain_seconds:>12.0f}{1.0:>10.2f}")
    print(
        f"{'outbox -> relay -> broker -> consumer':<44}{n / outbox_seconds:>12.0f}"
        f"{plain_seconds / outbox_seconds:>10.2f}"
    )
    print(f"\ntransactions: {t} of each, interleaved, median\n")
    print(f"{'transaction':<44}{'tx/s':>12}{'µs/tx':>10}")
    for label in ("tx", "tx+publish"):
        print(f"{label:<44}{1 / timings[label]:>12.0f}{timings[label] * 1e6:>10.0f}")
    added = (timings["tx+publish"] - timings["tx"]) * 1e6
    slowdown = timings["tx+publish"] / timings["tx"]
    print(f"{'publish() adds':<44}{'':>12}{added:>10.0f}  ({slowdown:.2f}x)")


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
