"""Benchmark: events through outbox -> relay -> broker -> consumer, against plain Celery send_task.

Run with ``nox -s bench -- events`` (or ``python benchmarks/bench_events.py``). It prints:

- end to end: events per second from the first relay claim to the last handled event, against
  ``app.send_task()`` of the same payloads to a plain task doing the same insert, consumed by the
  same worker process (the baseline), in the same run, the medians of the rounds; the outbox both
  with ``EVENT_DELIVERY_BATCH`` events a broker message (handled in one transaction each) and with
  one event a message (what consumers older than 0.4 read);
- the cost ``publish()`` adds to a transaction: commits per second of a transaction inserting one
  business row, with and without ``publish()`` of an event (the two kinds interleaved, medians);
- latency: from the commit of a transaction that publishes one event to its handler running on the
  consumer, for events committed one at a time while the relay idles (as a service's are), with
  the relay's poll at 1 s, so that only its wake-up on commit makes it fast.

It ends with two lines a script can read::

    latency: p50 N ms, p99 N ms
    throughput: N events/s against N, ratio R

On PostgreSQL + RabbitMQ when ``COMMONS_TEST_POSTGRES_URL`` and ``COMMONS_TEST_AMQP_URL`` are set
(databases, exchange and queues of its own, removed afterwards), else on the embedded defaults:
SQLite files and kombu's filesystem transport in a temporary folder. The first line says which.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import django
import pydantic
from django.conf import settings

from common_utils import event_type

# The worker process is handed the bench's run id and folder.
TMP = Path(os.environ.get("BENCH_EVENTS_TMP") or tempfile.mkdtemp(prefix="bench-events-"))
RUN = os.environ.get("BENCH_EVENTS_RUN") or uuid.uuid4().hex[:8]
BATCH = 100  # COMMON_UTILS["EVENT_DELIVERY_BATCH"] of the batched outbox path
WARM_UP = 20  # transactions of each kind run before the measured ones
ALIASES = ("default", "billing")
POSTGRES_URL = os.environ.get("COMMONS_TEST_POSTGRES_URL")
AMQP_URL = os.environ.get("COMMONS_TEST_AMQP_URL")
REAL = bool(POSTGRES_URL and AMQP_URL)


@event_type("bench.order.placed")
class OrderPlaced(pydantic.BaseModel):
    order_id: int
    total: int


def _postgres_url(database: str) -> str:
    assert POSTGRES_URL
    return urlunsplit(urlsplit(POSTGRES_URL)._replace(path=f"/{database}"))


def _postgres_databases(action: str) -> None:
    """CREATE or DROP this run's PostgreSQL databases (bench_events_<run>_<alias>)."""
    import psycopg

    assert POSTGRES_URL
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        for alias in ALIASES:
            name = f"bench_events_{RUN}_{alias}"
            if action == "create":
                connection.execute(f'CREATE DATABASE "{name}"')
            else:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def configure(*, create: bool = True) -> dict[str, Any]:
    """Settings for this run (and its databases, unless ``create`` is false: the worker's)."""
    from common_utils.django import database_from_url

    if REAL:
        if create:
            _postgres_databases("create")
        urls = {alias: _postgres_url(f"bench_events_{RUN}_{alias}") for alias in ALIASES}
    else:
        urls = {alias: f"sqlite:///{TMP / alias}.sqlite3" for alias in ALIASES}
    settings.configure(
        USE_TZ=True,
        INSTALLED_APPS=["django.contrib.contenttypes", "common_utils.django"],
        DATABASES={alias: database_from_url(url, alias=alias) for alias, url in urls.items()},
        COMMON_UTILS={"OUTBOX_BATCH_SIZE": 200, "EVENT_EXCHANGE": f"bench.events.{RUN}"},
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    )
    django.setup()
    if REAL:
        return {"url": AMQP_URL, "options": {}, "transport": None}
    from common_utils.django.events import FILESYSTEM_TRANSPORT, embedded_broker_options

    return {
        "url": "filesystem://",
        "transport": FILESYSTEM_TRANSPORT,
        "options": embedded_broker_options(TMP / "broker"),
    }


def build_app(broker: dict[str, Any]) -> tuple[Any, Any]:
    """The Celery app, its consumer and both paths' handlers, alike in the bench and its worker.

    Each handler inserts one ``bench_row`` (the event id, its path, the time it ran), in the
    consumer's transaction or, for the plain task, a transaction of its own.
    """
    from celery import Celery
    from django.db import connections, transaction
    from kombu import Queue

    from common_utils import Envelope
    from common_utils.django.events import EventConsumer

    app = Celery("bench_events")
    app.conf.update(
        broker_url=broker["url"],
        broker_transport_options=broker["options"],
        broker_transport=broker["transport"],
        task_ignore_result=True,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
    )
    consumer = EventConsumer(app, queue=f"bench.events.{RUN}", using="billing")

    def insert_row(ref: str, path: str) -> None:
        with connections["billing"].cursor() as cursor:
            cursor.execute(
                "INSERT INTO bench_row (ref, path, at) VALUES (%s, %s, %s)",
                [ref, path, time.time()],
            )

    @consumer.handler(OrderPlaced, name="bench.invoice")
    def invoice(event: Envelope[OrderPlaced]) -> None:
        insert_row(event.id, "outbox")

    @app.task(name="bench.plain_invoice")
    def plain_invoice(payload: dict[str, Any]) -> None:
        with transaction.atomic(using="billing"):
            insert_row(payload["id"], payload.get("path", "plain"))

    app.conf.task_queues = (consumer.queue, Queue(f"bench.plain.{RUN}"))
    return app, consumer


def run_worker() -> None:
    """The worker process: one solo worker consuming both paths' queues, as a service runs it."""
    broker = configure(create=False)
    app, _ = build_app(broker)
    app.worker_main(
        [
            "worker",
            "--pool=solo",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            f"--queues=bench.events.{RUN},bench.plain.{RUN}",
            # A node name of its own: the worker's remote-control queue is exclusive to its node
            # name on the vhost, and another worker named celery@<host> on the same broker (a
            # test's, a demo's) would make this one's declaration fail.
            f"--hostname=bench-events-{RUN}@%h",
        ]
    )


def main() -> None:  # noqa: PLR0915 - one linear script reads best top to bottom
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--transactions", type=int, default=2000)
    parser.add_argument("--latency-events", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5, help="of each path, alternating")
    args = parser.parse_args()
    broker = configure()

    from django.core.management import call_command
    from django.db import connection, connections, transaction

    from common_utils import new_event
    from common_utils.django import publish
    from common_utils.django.events import OutboxRelay
    from common_utils.django.models import OutboxMessage

    call_command("migrate_all", verbosity=0, interactive=False)
    key, at = (
        ("BIGSERIAL PRIMARY KEY", "DOUBLE PRECISION") if REAL else ("INTEGER PRIMARY KEY", "REAL")
    )
    for alias in ALIASES:
        with connections[alias].cursor() as cursor:
            cursor.execute(f"CREATE TABLE bench_row (id {key}, ref TEXT, path TEXT, at {at})")
            cursor.execute("CREATE INDEX bench_row_path ON bench_row (path)")
            cursor.execute("CREATE INDEX bench_row_ref ON bench_row (ref)")

    app, consumer = build_app(broker)
    consumer.declare()
    plain_queue = f"bench.plain.{RUN}"

    def count(path: str) -> int:
        with connections["billing"].cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM bench_row WHERE path = %s", [path])
            return int(cursor.fetchone()[0])

    workers: list[subprocess.Popen[bytes]] = []  # the worker process, once started

    def wait_for(path: str, expected: int, *, interval: float = 0.01) -> None:
        deadline = time.monotonic() + 600
        while (seen := count(path)) < expected:
            if time.monotonic() > deadline:
                raise SystemExit(f"{path}: only {seen} of {expected} handled")
            for worker in workers:
                if worker.poll() is not None:
                    raise SystemExit(
                        f"{path}: the worker exited ({worker.returncode}) with {seen} of "
                        f"{expected} handled; its errors are above"
                    )
            time.sleep(interval)

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

    # --- end to end (rounds of each, alternating, best kept: the first pays warm-up) ----------
    def fill_outbox() -> list[dict[str, Any]]:
        with transaction.atomic():
            events = [
                new_event(OrderPlaced(order_id=i, total=i), source="/bench")
                for i in range(args.events)
            ]
            for event in events:
                publish(event)
        return [event.model_dump(mode="json") for event in events]

    def run_plain(payloads: list[dict[str, Any]], done: int) -> float:
        started = time.perf_counter()
        for payload in payloads:
            app.send_task("bench.plain_invoice", args=[payload], queue=plain_queue)
        wait_for("plain", done + len(payloads))
        return time.perf_counter() - started

    def run_outbox(count: int, done: int, delivery_batch: int) -> float:
        started = time.perf_counter()
        relay = OutboxRelay(app, aliases=["default"], delivery_batch=delivery_batch)
        stop = threading.Event()
        relay_thread = threading.Thread(
            target=lambda: relay.run(poll_interval=0.05, until_empty=True, stop=stop)
        )
        relay_thread.start()
        wait_for("outbox", done + count)
        elapsed = time.perf_counter() - started
        stop.set()
        relay_thread.join()
        return elapsed

    def run_latency(count: int) -> list[float]:
        """Commit one event at a time, waiting for each, with an idle relay polling every 1 s."""
        relay = OutboxRelay(app, aliases=["default"])
        relay_thread = threading.Thread(target=lambda: relay.run(poll_interval=1.0))
        relay_thread.start()
        latencies: list[float] = []
        try:
            for i in range(count):
                with transaction.atomic():
                    event = new_event(OrderPlaced(order_id=i, total=i), source="/bench")
                    publish(event)
                committed = time.time()
                deadline = committed + 30
                while True:
                    with connections["billing"].cursor() as cursor:
                        cursor.execute("SELECT at FROM bench_row WHERE ref = %s", [event.id])
                        row = cursor.fetchone()
                    if row is not None:
                        break
                    if time.time() > deadline:
                        raise SystemExit(f"latency: event {i} not handled in 30 s")
                    time.sleep(0.001)
                latencies.append(row[0] - committed)
                time.sleep(0.01)  # the relay and the worker idle again between events
        finally:
            relay.stop()
            relay_thread.join()
        return latencies

    # The worker runs in a process of its own, as a service runs it: Celery's in-thread test
    # worker (celery.contrib.testing) handled under 100 trivial tasks a second here, stalling for
    # seconds at a time, and shared the GIL with the relay.
    env = {**os.environ, "BENCH_EVENTS_RUN": RUN, "BENCH_EVENTS_TMP": str(TMP)}
    worker = subprocess.Popen(
        [sys.executable, __file__, "--worker"], env=env, stdout=subprocess.DEVNULL
    )
    workers.append(worker)
    plain_runs: list[float] = []
    outbox_runs: list[float] = []
    single_runs: list[float] = []
    try:
        app.send_task(
            "bench.plain_invoice", args=[{"id": "ready", "path": "ready"}], queue=plain_queue
        )
        wait_for("ready", 1, interval=0.1)
        for round_ in range(args.rounds):
            payloads = fill_outbox()
            plain_runs.append(run_plain(payloads, round_ * args.events))
            outbox_runs.append(run_outbox(len(payloads), 2 * round_ * args.events, BATCH))
            fill_outbox()
            single_runs.append(run_outbox(len(payloads), (2 * round_ + 1) * args.events, 1))
        latencies = run_latency(args.latency_events)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    plain_seconds, outbox_seconds = statistics.median(plain_runs), statistics.median(outbox_runs)
    single_seconds = statistics.median(single_runs)
    # The baseline's events went through the outbox batched too, and as many more one a message;
    # every event id must be in its rows, once a path, no more.
    with connections["billing"].cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*), COUNT(DISTINCT ref) FROM bench_row WHERE path IN ('plain', 'outbox')"
        )
        rows, distinct = cursor.fetchone()
    events = args.rounds * args.events
    expected = (3 * events + args.latency_events, 2 * events + args.latency_events)
    if (rows, distinct) != expected:
        raise SystemExit(
            f"expected {expected[0]} rows for {expected[1]} events (each round's events handled "
            f"once by each path), found {rows} rows for {distinct} events"
        )

    n, t = args.events, args.transactions
    where = (
        "PostgreSQL + RabbitMQ (COMMONS_TEST_POSTGRES_URL, COMMONS_TEST_AMQP_URL)"
        if REAL
        else "embedded defaults: SQLite files + kombu filesystem transport"
        " (set COMMONS_TEST_POSTGRES_URL and COMMONS_TEST_AMQP_URL for the real ones)"
    )
    print(f"\non {where}; one solo worker process consumes both paths")
    print(f"events: {n} a round, {args.rounds} rounds; latency events: {args.latency_events}")
    print(
        f"checked: {events} events, each handled once by the baseline and once by the outbox "
        f"batched, {events} more once one a message; "
        f"{args.latency_events} latency events, each handled once\n"
    )
    print(f"{'path (median of the rounds)':<44}{'events/s':>12}{'ratio':>10}")
    print(f"{'send_task -> worker (baseline)':<44}{n / plain_seconds:>12.0f}{1.0:>10.2f}")
    print(
        f"{f'outbox, {BATCH} events a message':<44}{n / outbox_seconds:>12.0f}"
        f"{plain_seconds / outbox_seconds:>10.2f}"
    )
    print(
        f"{'outbox, one event a message':<44}{n / single_seconds:>12.0f}"
        f"{plain_seconds / single_seconds:>10.2f}"
    )
    print(
        "rounds (s): baseline "
        + ", ".join(f"{x:.2f}" for x in plain_runs)
        + f"; {BATCH} a message "
        + ", ".join(f"{x:.2f}" for x in outbox_runs)
        + "; one a message "
        + ", ".join(f"{x:.2f}" for x in single_runs)
    )
    print(f"\ntransactions: {t} of each, interleaved, median\n")
    print(f"{'transaction':<44}{'tx/s':>12}{'µs/tx':>10}")
    for label in ("tx", "tx+publish"):
        print(f"{label:<44}{1 / timings[label]:>12.0f}{timings[label] * 1e6:>10.0f}")
    added = (timings["tx+publish"] - timings["tx"]) * 1e6
    slowdown = timings["tx+publish"] / timings["tx"]
    print(f"{'publish() adds':<44}{'':>12}{added:>10.0f}  ({slowdown:.2f}x)")
    quantiles = statistics.quantiles(latencies, n=100, method="inclusive")
    p50, p99 = statistics.median(latencies) * 1000, quantiles[98] * 1000
    print(
        f"\nlatency, commit -> handler, {len(latencies)} events one at a time "
        f"(relay poll 1 s; it wakes on {'NOTIFY' if REAL else 'its poll only, SQLite'})"
    )
    print(f"latency: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    print(
        f"throughput: {n / outbox_seconds:.0f} events/s against {n / plain_seconds:.0f}, "
        f"ratio {plain_seconds / outbox_seconds:.2f}"
    )


def cleanup_real() -> None:
    """Drop this run's databases, queues and exchange."""
    from django.db import connections

    connections.close_all()
    _postgres_databases("drop")
    from kombu import Connection

    with Connection(AMQP_URL) as connection:
        channel = connection.default_channel
        for queue in (f"bench.events.{RUN}", f"bench.plain.{RUN}"):
            channel.queue_delete(queue)
        channel.exchange_delete(f"bench.events.{RUN}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--worker"]:
        run_worker()
        sys.exit()
    try:
        main()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
        if REAL:
            cleanup_real()
