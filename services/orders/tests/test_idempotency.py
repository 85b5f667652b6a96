"""A placed order whose answer is lost on the way back: the client's retry gets that answer, and
the order exists once.

Orders runs under gunicorn (SQLite, and PostgreSQL when ``COMMONS_TEST_POSTGRES_URL`` is set),
behind a proxy on 127.0.0.1 that forwards the first POST, lets orders commit and answer, and then
closes the client's connection without relaying the answer. The generated client sends the order
with an ``Idempotency-Key`` and retries on the dropped connection.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from common_clients_orders import OrdersClient
from common_clients_orders.models import PlaceOrderRequest

from tests.conftest import ORDERS_ENVIRONMENT, TMP, wait_until_live

ORDERS_DIR = Path(__file__).resolve().parents[1]
POSTGRES_URL = os.environ.get("COMMONS_TEST_POSTGRES_URL")
# What a proxy must not forward as it came: they describe one hop, not the message.
HOP_HEADERS = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "date", "server"}
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Exchange:
    """One request the proxy forwarded, and what orders answered to it."""

    method: str
    path: str
    key: str | None
    status: int
    headers: dict[str, str]
    body: bytes
    relayed: bool


@dataclass
class DroppingProxy:
    """Forwards to orders; the first ``drops`` POSTs are answered by closing the connection."""

    upstream: str
    drops: int = 1
    exchanges: list[Exchange] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _ProxyHandler(BaseHTTPRequestHandler):
    server: _ProxyServer

    def _forward(self) -> None:
        proxy = self.server.proxy
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
        answer = httpx.request(
            self.command, proxy.upstream + self.path, headers=headers, content=body, timeout=30
        )
        with proxy.lock:
            drop = self.command == "POST" and proxy.drops > 0
            if drop:
                proxy.drops -= 1
            proxy.exchanges.append(
                Exchange(
                    self.command,
                    self.path,
                    self.headers.get("Idempotency-Key"),
                    answer.status_code,
                    dict(answer.headers),
                    answer.content,
                    relayed=not drop,
                )
            )
        if drop:  # orders has committed and answered: the client never hears of it
            self.close_connection = True
            return
        self.send_response(answer.status_code)
        for name, value in answer.headers.items():
            if name.lower() not in HOP_HEADERS:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    def do_GET(self) -> None:
        self._forward()

    def do_POST(self) -> None:
        self._forward()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


class _ProxyServer(ThreadingHTTPServer):
    proxy: DroppingProxy


@pytest.fixture
def dropping_proxy() -> Iterator[object]:
    """``start(upstream)`` -> (proxy URL, `DroppingProxy`); stopped after the test."""
    servers: list[_ProxyServer] = []

    def start(upstream: str) -> tuple[str, DroppingProxy]:
        server = _ProxyServer(("127.0.0.1", 0), _ProxyHandler)
        server.proxy = DroppingProxy(upstream)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", server.proxy

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@dataclass
class Database:
    """Orders' database for one run: its URL, and how to count rows in it."""

    url: str

    def count(self, table: str, condition: str, value: str) -> int:
        """The rows of ``table`` meeting ``condition`` (SQL with one ``%s``) for ``value``."""
        query = f"SELECT count(*) FROM {table} WHERE {condition}"  # noqa: S608 - the tests' own SQL
        parts = urlsplit(self.url)
        if parts.scheme == "sqlite":
            with closing(sqlite3.connect(parts.path)) as connection:
                (found,) = connection.execute(query.replace("%s", "?"), [value]).fetchone()
                return int(found)
        import psycopg

        with psycopg.connect(self.url) as connection:
            row = connection.execute(query.encode(), [value]).fetchone()
            assert row is not None
            return int(row[0])


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def orders_database(request: pytest.FixtureRequest) -> Iterator[Database]:
    """An empty database for orders: a SQLite file, or a PostgreSQL database of its own."""
    name = f"orders_idem_{uuid.uuid4().hex[:10]}"
    if request.param == "sqlite":
        yield Database(f"sqlite:///{TMP / name}.sqlite3")
        return
    if not POSTGRES_URL:
        pytest.skip("COMMONS_TEST_POSTGRES_URL is not set")
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield Database(urlunsplit(urlsplit(POSTGRES_URL)._replace(path=f"/{name}")))
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def orders_server(orders_database: Database, users_service: Path) -> Iterator[str]:
    """Orders under gunicorn on a free port of 127.0.0.1, on ``orders_database``, migrated."""
    env = {**os.environ, **ORDERS_ENVIRONMENT, "DATABASE_URL": orders_database.url}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
        cwd=ORDERS_DIR,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    url = f"http://127.0.0.1:{_free_port()}"
    log = TMP / f"orders-{uuid.uuid4().hex[:6]}.log"
    with log.open("wb") as stream:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", url.removeprefix("http://"), "-w", "1"],
            cwd=ORDERS_DIR,
            env=env,
            stdout=stream,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_live(url, process, log, "orders", timeout=60)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_a_retry_after_the_answer_was_lost_returns_the_first_answer_and_one_order(
    orders_server: str,
    orders_database: Database,
    dropping_proxy: object,
    tokens: dict[str, str],
) -> None:
    proxy_url, proxy = dropping_proxy(orders_server)  # type: ignore[operator]
    auth = {"Authorization": f"Bearer {tokens['alice']}"}

    with OrdersClient(base_url=proxy_url, headers=auth) as client:
        order = client.orders.create(
            body=PlaceOrderRequest(product="lost answer", quantity=3), idempotency_key=True
        )

    first, retry = proxy.exchanges
    assert (first.relayed, retry.relayed) == (False, True)
    assert first.key is not None
    assert retry.key == first.key
    assert first.status == retry.status == 201
    assert "idempotent-replayed" not in first.headers
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.body == first.body
    assert order.id == httpx.Response(201, content=first.body).json()["id"]
    assert order.product == "lost answer"
    assert orders_database.count("orders_order", "product = %s", "lost answer") == 1
    # and one orders.order_placed event
    subject = f'%"subject":"order/{order.id}"%'
    assert orders_database.count("common_utils_outbox", "payload LIKE %s", subject) == 1
    assert orders_database.count("common_utils_idempotency_record", "key = %s", first.key) == 1


def test_the_same_key_for_another_order_is_a_422_and_places_nothing(
    orders_server: str, orders_database: Database, tokens: dict[str, str]
) -> None:
    headers = {"Authorization": f"Bearer {tokens['alice']}", "Idempotency-Key": "order-7"}
    with httpx.Client(base_url=orders_server, headers=headers, timeout=30) as client:
        placed = client.post("/api/orders/", json={"product": "saw", "quantity": 1})
        other = client.post("/api/orders/", json={"product": "saw", "quantity": 2})
        # bob's key is his own: the same key places his order
        bobs = client.post(
            "/api/orders/",
            json={"product": "saw", "quantity": 2},
            headers={"Authorization": f"Bearer {tokens['bob']}"},
        )

    assert placed.status_code == 201
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["type"] == "https://commons.invalid/problems/idempotency_key_reused"
    assert bobs.status_code == 201
    assert "idempotent-replayed" not in bobs.headers
    assert orders_database.count("orders_order", "product = %s", "saw") == 2
