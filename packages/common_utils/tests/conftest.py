"""Shared fixtures of the common-utils tests: Django settings, servers, brokers and workers.

Databases: PostgreSQL when ``COMMONS_TEST_POSTGRES_URL`` is set (uniquely named test databases,
dropped after the run), SQLite files otherwise. Brokers: the kombu filesystem transport always,
RabbitMQ (a vhost per run) and Redis (a key prefix per run) when their variables are set.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

TESTS_DIR = Path(__file__).parent
RUN_ID = uuid.uuid4().hex[:10]
_TMP = Path(tempfile.mkdtemp(prefix=f"common-utils-tests-{RUN_ID}-"))
POSTGRES_URL = os.environ.get("COMMONS_TEST_POSTGRES_URL")
AMQP_URL = os.environ.get("COMMONS_TEST_AMQP_URL")
REDIS_URL = os.environ.get("COMMONS_TEST_REDIS_URL")


def _databases() -> dict[str, Any]:
    from common_utils.django import database_from_url

    primaries = ("default", "orders", "billing")
    if POSTGRES_URL:
        databases = {}
        for alias in primaries:
            name = f"cu_{RUN_ID}_{alias}"
            url = urlunsplit(urlsplit(POSTGRES_URL)._replace(path=f"/{name}"))
            databases[alias] = database_from_url(url, alias=alias, test_name=name)
        databases["orders_replica"] = database_from_url(
            urlunsplit(urlsplit(POSTGRES_URL)._replace(path=f"/cu_{RUN_ID}_orders")),
            alias="orders_replica",
            replica_of="orders",
        )
        return databases
    databases = {
        alias: database_from_url(
            f"sqlite:///{_TMP / alias}.sqlite3", alias=alias, test_name=str(_TMP / f"{alias}.test")
        )
        for alias in primaries
    }
    databases["orders_replica"] = database_from_url(
        f"sqlite:///{_TMP / 'orders'}.sqlite3", alias="orders_replica", replica_of="orders"
    )
    return databases


def sqlite_databases(folder: Path) -> dict[str, Any]:
    """``DATABASES`` of the test project on SQLite files in ``folder``, whatever this run uses."""
    from common_utils.django import database_from_url

    databases = {
        alias: database_from_url(f"sqlite:///{folder / alias}.sqlite3", alias=alias)
        for alias in ("default", "orders", "billing")
    }
    databases["orders_replica"] = database_from_url(
        f"sqlite:///{folder / 'orders'}.sqlite3", alias="orders_replica", replica_of="orders"
    )
    return databases


def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings

    sys.path.insert(0, str(TESTS_DIR))
    from cu_testproject.settings import build_settings

    settings.configure(**build_settings(_databases()))


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_TMP, ignore_errors=True)


# --- HTTP ---------------------------------------------------------------------------------------


class _EchoHeadersHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps(dict(self.headers.items())).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


@pytest.fixture
def echo_server_url() -> Iterator[str]:
    """A loopback HTTP server on a free port that answers with the request headers as JSON."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHeadersHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# --- brokers ------------------------------------------------------------------------------------


@dataclass
class Broker:
    """A broker the tests publish to: its URL, transport options, and how to interrupt it."""

    kind: str
    url: str
    options: dict[str, Any] = field(default_factory=dict)
    vhost: str | None = None
    server: RedisServer | None = None
    transport: str | None = None

    def stop(self) -> None:
        """Cut the broker off.

        RabbitMQ (shared with other users, so only this run's vhost is touched): the vhost's
        permissions are cleared, so new connections are refused, and its open connections are
        closed by the broker. Redis: the private server shuts down.
        """
        if self.kind == "amqp":
            assert self.vhost is not None
            rabbitmqctl("clear_permissions", "-p", self.vhost, self.user)
            listing = rabbitmqctl(
                "list_connections", "vhost", "pid", "--quiet", "--no-table-headers"
            )
            for line in listing.splitlines():
                vhost, _, pid = line.partition("\t")
                if vhost == self.vhost:
                    subprocess.run(
                        ["rabbitmqctl", "close_connection", pid.strip(), "broker outage test"],
                        check=False,
                        capture_output=True,
                        timeout=60,
                    )
        elif self.server is not None:
            self.server.stop()

    def start(self) -> None:
        """Bring the broker back (RabbitMQ: permissions restored; Redis: restarted from its AOF)."""
        if self.kind == "amqp":
            assert self.vhost is not None
            rabbitmqctl("set_permissions", "-p", self.vhost, self.user, ".*", ".*", ".*")
        elif self.server is not None:
            self.server.start()

    def env(self) -> dict[str, str]:
        """Environment for a subprocess that must use this broker."""
        return {
            "CU_TEST_BROKER_URL": self.url,
            "CU_TEST_BROKER_OPTIONS": json.dumps(self.options),
            "CU_TEST_BROKER_TRANSPORT": self.transport or "",
        }

    @property
    def user(self) -> str:
        """The broker user name."""
        return urlsplit(self.url).username or "guest"


class RedisServer:
    """A private redis-server on a free port, persisting every write, that can be restarted."""

    def __init__(self, directory: Path) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        import redis

        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        wait_for(lambda: _pings(client), timeout=20, what=f"redis-server on port {self.port}")
        client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()  # SIGTERM: redis flushes its append-only file and exits
            self.process.wait(timeout=30)
            self.process = None


def _pings(client: Any) -> bool:
    import redis

    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


@pytest.fixture(params=["filesystem", "amqp", "redis"])
def restartable_broker(request: pytest.FixtureRequest) -> Iterator[Broker]:
    """Each broker kind, one that ``stop()`` and ``start()`` really interrupt.

    RabbitMQ: the shared server, a vhost per run; ``stop()`` closes that vhost's connections.
    Redis: a private redis-server started here (the shared one cannot be restarted).
    """
    kind = request.param
    if kind == "filesystem":
        yield _filesystem_broker("restartable")
        return
    if kind == "amqp":
        yield from _amqp_broker()
        return
    if not REDIS_URL:
        pytest.skip("COMMONS_TEST_REDIS_URL is not set")
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    directory = _TMP / f"redis-{uuid.uuid4().hex[:6]}"
    directory.mkdir()
    server = RedisServer(directory)
    server.start()
    try:
        # A short visibility timeout, so messages a cut-off worker held are redelivered soon.
        options = {"visibility_timeout": 5}
        yield Broker("redis", f"redis://127.0.0.1:{server.port}/0", options, server=server)
    finally:
        server.stop()


def _amqp_broker() -> Iterator[Broker]:
    if not AMQP_URL:
        pytest.skip("COMMONS_TEST_AMQP_URL is not set")
    vhost = f"cu-{RUN_ID}-{uuid.uuid4().hex[:6]}"
    rabbitmqctl("add_vhost", vhost)
    parts = urlsplit(AMQP_URL)
    rabbitmqctl("set_permissions", "-p", vhost, parts.username or "guest", ".*", ".*", ".*")
    try:
        yield Broker("amqp", urlunsplit(parts._replace(path=f"/{vhost}")), vhost=vhost)
    finally:
        rabbitmqctl("delete_vhost", vhost)


def _filesystem_broker(name: str) -> Broker:
    from kombu.transport import filesystem

    # The filesystem transport remembers declared bindings process-wide and would not write
    # them into a new control folder: forget them, since each test gets fresh folders.
    filesystem.Transport.global_state.clear()
    root = _TMP / f"broker-{name}-{uuid.uuid4().hex[:6]}"
    folders = {key: root / key for key in ("data_in", "data_out", "control", "processed")}
    for folder in folders.values():
        folder.mkdir(parents=True)
    options = {
        # in and out are one folder: what a publisher writes, a consumer reads.
        "data_folder_in": str(folders["data_in"]),
        "data_folder_out": str(folders["data_in"]),
        "control_folder": str(folders["control"]),
        "store_processed": False,
    }
    from common_utils.django.events import FILESYSTEM_TRANSPORT

    return Broker("filesystem", "filesystem://", options, transport=FILESYSTEM_TRANSPORT)


def rabbitmqctl(*args: str) -> str:
    """Run rabbitmqctl and return its output."""
    return subprocess.run(
        ["rabbitmqctl", *args], check=True, capture_output=True, text=True, timeout=60
    ).stdout


@pytest.fixture(params=["filesystem", "amqp", "redis"])
def broker(request: pytest.FixtureRequest) -> Iterator[Broker]:
    """Each broker kind in turn; real ones skip, naming the variable, when it is unset."""
    kind = request.param
    if kind == "filesystem":
        yield _filesystem_broker("events")
        return
    if kind == "amqp":
        yield from _amqp_broker()
        return
    if not REDIS_URL:
        pytest.skip("COMMONS_TEST_REDIS_URL is not set")
    prefix = f"cu-{RUN_ID}-{uuid.uuid4().hex[:6]}:"
    try:
        yield Broker("redis", REDIS_URL, {"global_keyprefix": prefix})
    finally:
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture
def celery_app_for(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Point the test project's Celery app at a broker; restore it afterwards."""
    from cu_testproject.celery_app import app

    before = (app.conf.broker_url, app.conf.broker_transport_options, app.conf.broker_transport)

    def forget_connections() -> None:
        app.close()  # drops pooled connections to the previous broker
        # The producer pool (what a task's retry publishes through) is kept apart, and would
        # send retries to the previous broker.
        app.amqp._producer_pool = None  # type: ignore[attr-defined]  # not in the stubs

    def configure(broker: Broker) -> Any:
        forget_connections()
        app.conf.update(
            broker_url=broker.url,
            broker_transport_options=broker.options,
            broker_transport=broker.transport,
        )
        return app

    try:
        yield configure
    finally:
        forget_connections()
        app.conf.update(
            broker_url=before[0], broker_transport_options=before[1], broker_transport=before[2]
        )


def subprocess_env(broker: Broker) -> dict[str, str]:
    """Environment for a subprocess of the test project using the test databases and ``broker``."""
    from django.db import connections

    databases = {alias: dict(connections[alias].settings_dict) for alias in connections}
    env = dict(os.environ)
    env.update(broker.env())
    env["CU_TEST_DATABASES"] = json.dumps(databases, default=str)
    env["DJANGO_SETTINGS_MODULE"] = "cu_testproject.settings"
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS_DIR), env.get("PYTHONPATH", "")])
    return env


def run_python(env: dict[str, str], *args: str, returncode: int = 0) -> str:
    """Run ``python *args`` with ``env``; return its stdout, failing with its stderr unless it
    exits with ``returncode``."""
    done = subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == returncode, done.stderr[-3000:]
    return done.stdout


@pytest.fixture
def project_env() -> Any:
    """``project_env(broker)``: the environment for a subprocess of the test project."""
    return subprocess_env


@pytest.fixture
def consumer_worker(celery_app_for: Any) -> Any:
    """``consumer_worker(broker)``: a context manager running the billing consumer in a thread.

    The consumer's queue is declared first, so events published from then on are routed to it.
    Yields the list of event ids the delivery task received (duplicates included).
    """
    from contextlib import contextmanager

    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun, task_prerun
    from django.db import connections
    from kombu import Queue

    @contextmanager
    def run(broker: Broker) -> Iterator[list[str]]:
        app = celery_app_for(broker)
        import cu_testproject.tasks  # noqa: F401 - the worker knows only tasks defined at start
        from cu_testproject.consumer import consumer

        app.conf.task_queues = (consumer.queue, Queue("celery"))
        consumer.declare()
        deliveries: list[str] = []

        def count(task_id: str | None = None, task: Any = None, **_: Any) -> None:
            if task is not None and task.name in {
                "common_utils.deliver_event",
                "common_utils.deliver_events",
            }:
                deliveries.append(str(task_id))

        def close_connections(**_: Any) -> None:
            connections.close_all()  # the worker thread's own connections

        task_prerun.connect(count, weak=False)
        task_postrun.connect(close_connections, weak=False)
        try:
            with start_worker(
                app,
                perform_ping_check=False,
                loglevel="WARNING",
                logfile=os.environ.get("CU_TEST_WORKER_LOG"),
                queues=[consumer.queue_name, "celery"],
                shutdown_timeout=30,
            ):
                yield deliveries
        finally:
            task_prerun.disconnect(count)
            task_postrun.disconnect(close_connections)

    return run


def wait_for(predicate: Any, *, timeout: float = 60.0, what: str = "condition") -> None:
    """Poll ``predicate`` until it is true; fail naming ``what`` after ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def wait() -> Any:
    """``wait(predicate, timeout=..., what=...)``: poll until true, else fail."""
    return wait_for


# --- OpenTelemetry ------------------------------------------------------------------------------

# The in-memory exporter of this process (one, as the provider is one).
_SPANS: list[Any] = []


@pytest.fixture(scope="session", autouse=True)
def tracer_provider() -> Any:
    """The SDK's tracer provider, for every test of this process, with an in-memory exporter.

    OpenTelemetry lets a process set its provider once: it is set here (or taken, when another
    session fixture set it first) and never changed. What runs without an SDK runs in a subprocess.
    """
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    if not _SPANS:
        _SPANS.append(InMemorySpanExporter())
        provider.add_span_processor(SimpleSpanProcessor(_SPANS[0]))
    return provider


@pytest.fixture
def spans(tracer_provider: Any) -> Any:
    """The SDK's in-memory exporter, emptied for this test: ``spans.get_finished_spans()``."""
    _SPANS[0].clear()
    return _SPANS[0]
