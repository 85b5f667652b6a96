"""Per-call overhead of a generated client, and its import time (``nox -s bench -- clients``).

The test-only generated ``inventory_client`` against a hand-written httpx + pydantic client
doing the same calls (``GET /products/1/`` parsed into ``Product``; ``POST /products/`` with a
``ProductRequest`` body) over the same transport. "The same call" means the same request on the
wire: the hand-written client sends the user agent and the ``X-Request-ID`` header too (the
request id from common-utils' context, or a fresh one), as DESIGN.md asks of every request; a
row "(bare)" shows the hand-written client without that header, for scale. Two set-ups:

- ``httpx.MockTransport`` answering canned bytes: no network, so the ratio is the client
  overhead alone (the harshest view of it);
- a real HTTP/1.1 server on 127.0.0.1 (keep-alive, a thread of this process): what a call costs
  end to end on loopback.

Rounds alternate between the two sides; each figure is the median over rounds of the mean time of
one call. Goal: generated / hand-written <= 1.10. Import time: a fresh interpreter importing the
generated client, against one importing httpx and pydantic only (the floor any client pays).

A last row: ``retrieve`` of a generated client built with ``cache=HTTPCache()`` against the
loopback server, whose answer says ``Cache-Control: max-age=3600``: served from memory, against
the hand-written client asking the server each time (a ratio below 1 is the cache's gain).

What the calls' telemetry (``common_clients._telemetry``: a CLIENT span per attempt,
the call metrics) costs, each row against the same generated client with ``telemetry = False``,
which skips every telemetry step: the path with the telemetry code absent, measured in the same
rounds, the two taking turns every few calls; each side's figure is its fastest turn. First with
no OpenTelemetry SDK in the process (what a service that has not turned tracing on pays; goal
<= 1.02), then, once this process has installed the SDK (a ``TracerProvider`` with a
``BatchSpanProcessor`` and a ``MeterProvider``), with every call traced and measured (goal
<= 1.15). The batch processor hands the spans to an exporter that drops them, so the rows show
the cost of recording, not of a network. Both over ``MockTransport`` (no network: the harshest
view) and over the loopback server. The named baseline for those rows, in the same process and
rounds: the hand-written client with OpenTelemetry's own httpx instrumentation on its pool (one
CLIENT span and one histogram point a request, as Commons records) against the same client
without it; the last lines set what Commons' telemetry adds to a call beside what the standard
instrumentation adds to the same call. ``--telemetry-only`` runs this part alone. Before all, the
no-SDK cost counted in instructions (valgrind's callgrind; ``--instructions N`` calls a side, 0
leaves it out): on a shared machine the timed no-SDK rows move by more than their 2% goal.

Then, in the same run, generation time and peak memory on the largest document against
openapi-python-client (``bench_codegen.compare``; ``--codegen-rounds 0`` leaves it out).

Run: ``python benchmarks/bench_clients.py [--rounds 7] [--calls 2000] [--codegen-rounds 3]
[--telemetry-only]``. About four minutes.
"""

from __future__ import annotations

import argparse
import decimal
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from callgrind import instructions

from common_clients import HTTPCache
from common_utils import outgoing_headers

# The test-only inventory client lives beside common-clients' tests, out
# of its wheel: that folder is put on the path (of this process and of the ones it starts).
TESTS = Path(__file__).resolve().parents[1] / "packages" / "common_clients" / "tests"
sys.path.insert(0, str(TESTS))
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))

from inventory_client import InventoryClient  # noqa: E402
from inventory_client.models import Product, ProductRequest  # noqa: E402

PRODUCT = {
    "id": 1,
    "sku": "B-1",
    "name": "Bench product",
    "category": "tools",
    "price": "9.99",
    "quantity": 3,
    "notes": None,
    "created": "2026-11-24T10:00:00Z",
}
BODY = json.dumps(PRODUCT).encode()
REQUEST = ProductRequest(
    sku="B-1", name="Bench product", category="tools", price=decimal.Decimal("9.99"), quantity=3
)


def _answer(request: httpx.Request) -> httpx.Response:
    status = 201 if request.method == "POST" else 200
    return httpx.Response(status, content=BODY, headers={"Content-Type": "application/json"})


class HandWritten:
    """What a careful person writes without a generator: httpx, a timeout, pydantic parsing."""

    def __init__(
        self, base_url: str, transport: httpx.BaseTransport | None, *, request_id: bool = True
    ) -> None:
        self.http = httpx.Client(
            base_url=base_url,
            transport=transport,
            timeout=httpx.Timeout(30.0, connect=5.0),
            headers={"User-Agent": "orders-service"},
        )
        self.request_id = request_id

    def _headers(self) -> dict[str, str]:
        if not self.request_id:
            return {}
        return outgoing_headers() or {"X-Request-ID": os.urandom(16).hex()}

    def retrieve(self, id: int) -> Product:  # noqa: A002 - the API's name
        response = self.http.get(f"/products/{id}/", headers=self._headers())
        response.raise_for_status()
        return Product.model_validate_json(response.content)

    def create(self, body: ProductRequest) -> Product:
        response = self.http.post(
            "/products/",
            content=body.model_dump_json(by_alias=True, exclude_unset=True).encode(),
            headers={"Content-Type": "application/json", **self._headers()},
        )
        response.raise_for_status()
        return Product.model_validate_json(response.content)

    def close(self) -> None:
        self.http.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, Nagle's algorithm meets the
        # client's delayed ACK and every call waits 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def _reply(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(201 if self.command == "POST" else 200)
        self.send_header("Content-Type", "application/json")
        if self.command == "GET":  # reusable: what a client with a cache keeps (_cached)
            self.send_header("Cache-Control", "max-age=3600")
            self.send_header("ETag", '"product-1"')
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    do_GET = do_POST = _reply  # noqa: N815 - http.server dispatches on these names


def _per_call(call: Callable[[], object], calls: int) -> float:
    started = time.perf_counter_ns()
    for _ in range(calls):
        call()
    return (time.perf_counter_ns() - started) / calls / 1000.0  # microseconds


def _compare(
    label: str,
    base_url: str,
    transport: Callable[[], httpx.BaseTransport | None],
    rounds: int,
    calls: int,
) -> list[tuple[str, float, float]]:
    generated = InventoryClient(base_url=base_url, transport=transport(), max_retries=0)
    hand = HandWritten(base_url, transport())
    bare = HandWritten(base_url, transport(), request_id=False)
    operations: dict[str, tuple[Callable[[], object], ...]] = {
        "retrieve": (
            lambda: generated.products.retrieve(id=1),
            lambda: hand.retrieve(1),
            lambda: bare.retrieve(1),
        ),
        "create": (
            lambda: generated.products.create(body=REQUEST),
            lambda: hand.create(REQUEST),
            lambda: bare.create(REQUEST),
        ),
    }
    rows = []
    for name, sides in operations.items():
        assert len({repr(side()) for side in sides}) == 1  # the same call, the same result
        times: list[list[float]] = [[] for _ in sides]
        for side in sides:
            _per_call(side, calls // 10)  # warm up
        for _ in range(rounds):
            for side, record in zip(sides, times, strict=True):
                record.append(_per_call(side, calls))
        ours, theirs, plain = (statistics.median(record) for record in times)
        rows.append((f"{label}: {name}", ours, theirs))
        rows.append((f"{label}: {name} (bare)", ours, plain))
    generated.close()
    hand.close()
    bare.close()
    return rows


def _cached(base_url: str, rounds: int, calls: int) -> tuple[str, float, float]:
    """``retrieve`` of a generated client built with ``cache=HTTPCache()`` (served from memory
    after the first call) against the hand-written client asking the server each time."""
    cached = InventoryClient(base_url=base_url, cache=HTTPCache(), max_retries=0)
    hand = HandWritten(base_url, None)
    sides = (lambda: cached.products.retrieve(id=1), lambda: hand.retrieve(1))
    assert len({repr(side()) for side in sides}) == 1
    times: list[list[float]] = [[], []]
    for side in sides:
        _per_call(side, calls // 10)
    for _ in range(rounds):
        for side, record in zip(sides, times, strict=True):
            record.append(_per_call(side, calls))
    cached.close()
    hand.close()
    return ("loopback server: retrieve, cache hit", *(statistics.median(t) for t in times))


def _interleaved(
    label: str,
    operations: dict[str, tuple[Callable[[], object], Callable[[], object]]],
    rounds: int,
    calls: int,
) -> list[tuple[str, float, float]]:
    """Each operation's two sides, taking turns every few calls; each side's fastest turn."""
    rows = []
    chunk = max(calls // 20, 1)
    for name, sides in operations.items():
        times: list[list[float]] = [[] for _ in sides]
        for side in sides:
            _per_call(side, calls // 10)
        for _ in range(rounds):
            # The two sides take turns every few calls, and each keeps its fastest turn: the
            # difference measured is a few percent, which the load of a shared machine would
            # otherwise drown (the fastest turn is the one the least disturbed).
            for _ in range(calls // chunk):
                for side, record in zip(sides, times, strict=True):
                    record.append(_per_call(side, chunk))
        ours, theirs = (min(record) for record in times)
        rows.append((f"{label}: {name}", ours, theirs))
    return rows


def _telemetry_rows(
    label: str,
    base_url: str,
    transport: Callable[[], httpx.BaseTransport | None],
    rounds: int,
    calls: int,
) -> list[tuple[str, float, float]]:
    """``retrieve`` and ``create`` of a client with telemetry against one without, interleaved."""
    traced = InventoryClient(base_url=base_url, transport=transport(), max_retries=0)
    absent = InventoryClient(base_url=base_url, transport=transport(), max_retries=0)
    absent.telemetry = False
    rows = _interleaved(
        label,
        {
            "retrieve": (
                lambda: traced.products.retrieve(id=1),
                lambda: absent.products.retrieve(id=1),
            ),
            "create": (
                lambda: traced.products.create(body=REQUEST),
                lambda: absent.products.create(body=REQUEST),
            ),
        },
        rounds,
        calls,
    )
    traced.close()
    absent.close()
    return rows


def _reference_rows(
    label: str,
    base_url: str,
    transport: Callable[[], httpx.BaseTransport | None],
    rounds: int,
    calls: int,
) -> list[tuple[str, float, float]]:
    """The named baseline for the SDK rows: the hand-written client with OpenTelemetry's own
    httpx instrumentation on its pool (one CLIENT span per request, its duration histogram)
    against the same client without it. What recording one span a call costs with the standard
    instrumentation, in the same process and rounds as Commons' rows. Run after them: once the
    instrumentation's module is imported, a Commons client looks for it on each call."""
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    traced = HandWritten(base_url, transport())
    HTTPXClientInstrumentor.instrument_client(traced.http)
    plain = HandWritten(base_url, transport())
    rows = _interleaved(
        label,
        {
            "retrieve": (lambda: traced.retrieve(1), lambda: plain.retrieve(1)),
            "create": (lambda: traced.create(REQUEST), lambda: plain.create(REQUEST)),
        },
        rounds,
        calls,
    )
    HTTPXClientInstrumentor.uninstrument_client(traced.http)
    traced.close()
    plain.close()
    return rows


def _install_sdk() -> None:
    """The OpenTelemetry SDK as this process's providers: spans through a BatchSpanProcessor to
    an exporter that drops them, metrics aggregated for a reader that is never read."""
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    class Dropped(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Dropped()))
    trace.set_tracer_provider(provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))


def _telemetry(rounds: int, calls: int) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    loopback = f"http://127.0.0.1:{server.server_address[1]}"
    mock = "http://inventory.internal"
    results: list[tuple[str, list[tuple[str, float, float]], str]] = []

    def both(
        rows_of: Callable[..., list[tuple[str, float, float]]],
    ) -> list[tuple[str, float, float]]:
        return rows_of(
            "MockTransport", mock, lambda: httpx.MockTransport(_answer), rounds, calls
        ) + rows_of("loopback server", loopback, lambda: None, rounds, max(calls // 2, 100))

    try:
        results.append(("no SDK", both(_telemetry_rows), "goal <= 1.02"))
        _install_sdk()
        results.append(("SDK, batch", both(_telemetry_rows), "goal <= 1.15"))
        results.append(
            ("SDK, batch: OpenTelemetry's httpx instrumentation", both(_reference_rows), "baseline")
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    print(f"\nTelemetry: per-call time, fastest turn of {rounds} rounds (microseconds per call)\n")
    for phase, rows, goal in results:
        print(f"{phase:<52} {'traced':>10} {'absent':>10} {'ratio':>7}  {goal}")
        for label, ours, theirs in rows:
            print(f"  {label:<50} {ours:>10.1f} {theirs:>10.1f} {ours / theirs:>7.3f}")
    (_, commons, _), (_, reference, _) = results[1:]
    print(
        "\nWith the SDK, what recording a call adds (traced less absent), Commons' telemetry"
        " against OpenTelemetry's httpx instrumentation on the same calls:"
    )
    for (label, ours, theirs), (_, traced, plain) in zip(commons, reference, strict=True):
        added, baseline = ours - theirs, traced - plain
        share = added / baseline if baseline else float("inf")
        print(f"  {label:<50} +{added:>6.1f} us against +{baseline:>6.1f} us: {share:.2f}x")


def _import_seconds(statement: str, runs: int) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    times = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], check=True, capture_output=True, text=True
            ).stdout
        )
        for _ in range(runs)
    ]
    return statistics.median(times)


def _call_worker(side: str, calls: int) -> None:
    """``calls`` retrieves over ``MockTransport`` after a warm-up, by a client with telemetry
    (``traced``) or without (``absent``), in a process with no OpenTelemetry SDK."""
    client = InventoryClient(
        base_url="http://inventory.internal", transport=httpx.MockTransport(_answer), max_retries=0
    )
    client.telemetry = side == "traced"
    for _ in range(200 + calls):
        client.products.retrieve(id=1)


def _instructions_per_call(side: str, calls: int) -> float:
    """Instructions one no-SDK call takes, counted by valgrind's callgrind: a worker making a
    few calls subtracted from one making ``calls`` more, one hash seed. The same count for the
    same code however loaded the machine is, which a 2% goal needs."""
    command = [sys.executable, __file__, "--call-worker", side]
    counts = [instructions([*command, str(n)], os.environ, what=side) for n in (10, calls + 10)]
    return (counts[1] - counts[0]) / calls


def _instructions(calls: int) -> None:
    traced, absent = (_instructions_per_call(side, calls) for side in ("traced", "absent"))
    print(
        f"\nTelemetry with no SDK, instructions per call (callgrind, MockTransport retrieve, "
        f"{calls} calls)\n"
    )
    print(f"{'traced':>12} {'absent':>12} {'ratio':>7}  goal <= 1.02")
    print(f"{traced:>12,.0f} {absent:>12,.0f} {traced / absent:>7.3f}")


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--call-worker":
        _call_worker(sys.argv[2], int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--codegen-rounds", type=int, default=3)
    parser.add_argument("--document", default="github-ghec")
    parser.add_argument("--telemetry-only", action="store_true")
    parser.add_argument(
        "--instructions",
        type=int,
        default=1000,
        help="no-SDK telemetry: calls counted under callgrind per side (0: no count)",
    )
    arguments = parser.parse_args()
    if arguments.instructions:
        _instructions(arguments.instructions)
    if arguments.telemetry_only:
        _telemetry(arguments.rounds, arguments.calls)
        return

    rows = _compare(
        "MockTransport",
        "http://inventory.internal",
        lambda: httpx.MockTransport(_answer),
        arguments.rounds,
        arguments.calls,
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        rows += _compare(
            "loopback server",
            f"http://127.0.0.1:{server.server_address[1]}",
            lambda: None,
            arguments.rounds,
            max(arguments.calls // 2, 100),
        )
        rows.append(
            _cached(
                f"http://127.0.0.1:{server.server_address[1]}",
                arguments.rounds,
                max(arguments.calls // 2, 100),
            )
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

    print(f"\nPer-call time, median of {arguments.rounds} rounds (microseconds per call)\n")
    print(f"{'call':<36} {'generated':>10} {'hand-written':>13} {'ratio':>7}  goal <= 1.10")
    for label, ours, theirs in rows:
        print(f"{label:<36} {ours:>10.1f} {theirs:>13.1f} {ours / theirs:>7.3f}")

    floor = _import_seconds("import httpx, pydantic", 5)
    client = _import_seconds("import inventory_client", 5)
    print("\nImport time in a fresh interpreter, median of 5 (milliseconds)\n")
    print(f"{'import httpx, pydantic (floor)':<40} {floor * 1000:>8.1f}")
    print(f"{'import inventory_client':<40} {client * 1000:>8.1f}")
    print(f"{'  beyond the floor':<40} {(client - floor) * 1000:>8.1f}")

    # Last: it installs the SDK in this process, for good.
    _telemetry(arguments.rounds, arguments.calls)

    if arguments.codegen_rounds > 0:
        # This script's folder is on sys.path when it runs: the generator's benchmark is beside it.
        import bench_codegen

        print()
        bench_codegen.compare(arguments.document, arguments.codegen_rounds)


if __name__ == "__main__":
    main()
