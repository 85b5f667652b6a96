"""Benchmark: the cost of the split. An orders call that fans out to users over HTTP, against the
same endpoint with the users call replaced by a direct in-process function call, and the split
again with orders' cache of users' answers turned off.

Run with ``nox -s bench -- services``. The services are installed from a local index exactly as
in ``nox -s demo`` (embedded defaults: SQLite, the filesystem broker) and run under gunicorn on
127.0.0.1 (2 workers x 4 threads each). A second orders server runs beside the first on the same
database with ``ORDERS_USERS_LOOKUP=inprocess``, and a third with ``USERS_CACHE_SIZE=0``. All
answer ``GET /api/orders/`` for the same signed-in user (who has a few orders): the first verifies
the user's token, then looks the owner up with its own service token (cached): users' answer
(``Cache-Control: max-age=30``, an ``ETag``) comes from orders' HTTP cache while fresh and is
revalidated after (a 304); the third asks users on every request; the second builds the owner from
the token's claims. Load: ``CONCURRENCY`` client threads on keep-alive connections for
``SECONDS`` seconds per round, the three servers interleaved over ``ROUNDS`` rounds after a
warm-up. Prints requests per second and p50/p99 latency of each, the orders server's CPU per
request (its gunicorn master and workers, every thread of theirs, read from ``/proc`` around each
round), and the ratios of each split server to the in-process one. Tracing's cost on this request
path (goal: at most 1.15x with the SDK and a batch exporter) is the CPU ratio of the traced servers
to the untraced one, round by round: on two shared cores, where the load's client threads compete
with the servers, req/s moves with whatever else runs, CPU per request much less.

First, the request path's tracing (``--part request-path``): the cost of one request through
``RequestContextMiddleware`` in-process (Django's WSGI handler, no network: a service-to-service
call with ``X-Request-ID`` and ``traceparent``, a view that writes one JSON log line and reads
``outgoing_headers()``). The baseline is the same request through common-utils 0.3.0 as released
(its tree in ``releases.toml``: the last hand-written traceparent context, no spans); against it,
this work tree with no OpenTelemetry SDK (goal: at most 1.02x) and with the SDK's
``TracerProvider`` and a ``BatchSpanProcessor`` (goal: at most 1.15x; its exporter drops the
batches, so what is measured is the request thread's cost, not a collector's). The SDK row's named
baseline: the previous release with OpenTelemetry's Django instrumentation and the same SDK (the
standard server span a request, what a service that traces pays without Commons); the last line
sets what this tree's spans add to a request beside what that instrumentation adds. Each variant
runs in its own interpreter (a process sets its tracer provider once), interleaved over rounds; the
ratios are the medians of the per-round ratios, of CPU time (the process's, so the batch
processor's thread counts): on a shared machine wall time is mostly waiting for a core. Then each
variant's instructions per request, counted by valgrind's callgrind (``--path-instructions``; 0
leaves it out): the same count for the same code however loaded the machine is, which the no-SDK
goal, a 2% difference, needs (CPU time moved between 0.99x and 1.12x from run to run on a loaded
machine).
``--part stack`` runs only the services part.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import tomllib
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from callgrind import instructions  # noqa: E402

from commons_tools.demo import installed_stack, sign_in  # noqa: E402
from commons_tools.stack import free_port  # noqa: E402


class _OtlpSink:
    """An OTLP/HTTP endpoint on 127.0.0.1 that answers every export and keeps only a count."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        sink = self
        self.requests = 0

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(size)
                sink.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def process_tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` and its descendants: a gunicorn
    server's master and workers, their threads (the batch span processor's too) included."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            # Fields after the command name (which may hold spaces): utime and stime are the
            # 12th and 13th of them (proc(5): fields 14 and 15).
            fields = Path(f"/proc/{current}/stat").read_text().rpartition(")")[2].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending.extend(int(child) for child in children)
        except (FileNotFoundError, ProcessLookupError):
            continue  # it ended between the listing and the read
    return total


def server_pid(stack: Any, port: int) -> int:
    """The pid of the stack's web server bound to ``port`` (gunicorn's master)."""
    for process in stack.processes:
        if f"127.0.0.1:{port}" in process.popen.args and process.alive():
            return int(process.popen.pid)
    raise SystemExit(f"bench: no server of the stack listens on port {port}")


def load(url: str, token: str, *, seconds: float, concurrency: int) -> list[float]:
    """Latencies (seconds) of every GET completed by ``concurrency`` threads in ``seconds``."""
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds
    failures: list[str] = []

    def worker() -> None:
        mine: list[float] = []
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = client.get(url)
                mine.append(time.perf_counter() - started)
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text[:200]}")
                    return
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"bench: {url} answered {failures[0]}")
    return latencies


def summary(latencies: list[float], seconds: float) -> tuple[float, float, float]:
    cuts = statistics.quantiles(latencies, n=100)
    return len(latencies) / seconds, cuts[49] * 1000, cuts[98] * 1000


# --- the request path's tracing, in-process ------------------------------------------------------

REQUEST_PATH_VARIANTS = {
    "previous release (baseline)": "previous",
    "this tree, no SDK": "no-sdk",
    "this tree, SDK + BatchSpanProcessor": "sdk",
    "previous + OpenTelemetry's Django instr.": "otel-django",
}
# Variants that run the previous release's common-utils, not this tree's.
PREVIOUS_TREE = {"previous", "otel-django"}
REQUEST_PATH_GOALS = {"no-sdk": 1.02, "sdk": 1.15}
CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


BASELINE_RELEASE = "0.3.0"
"""The common-utils release the request path is measured against: the last one whose trace context
was written by hand, before OpenTelemetry."""


def previous_release_source(folder: Path) -> tuple[str, Path]:
    """The ``src`` folder of common-utils ``BASELINE_RELEASE``, exported from its recorded tree."""
    records = tomllib.loads((ROOT / "releases.toml").read_text())["release"]
    last = next(
        r for r in records if r["package"] == "common-utils" and r["version"] == BASELINE_RELEASE
    )
    archive = subprocess.run(
        ["git", "archive", "--format=tar", last["tree"], "src"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return str(last["version"]), folder / "src"


def request_path_worker(variant: str, requests: int) -> None:
    """Serve ``requests`` requests in-process and print the CPU microseconds each took (median
    of ten slices), after a warm-up. Runs in a fresh interpreter per variant."""
    import logging

    import django
    from django.conf import settings
    from django.http import HttpRequest, JsonResponse
    from django.urls import path

    if variant in ("sdk", "otel-django"):
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            SpanExporter,
            SpanExportResult,
        )

        class Drop(SpanExporter):
            def export(self, spans: Any) -> SpanExportResult:
                return SpanExportResult.SUCCESS

        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(Drop()))
        trace.set_tracer_provider(provider)

    def view(request: HttpRequest, pk: int) -> JsonResponse:
        from common_utils import outgoing_headers

        logging.getLogger("bench").info("order %s read", pk)
        return JsonResponse({"id": pk, "headers": outgoing_headers()})

    module = sys.modules[__name__]
    module.urlpatterns = [path("api/orders/<int:pk>/", view)]  # type: ignore[attr-defined]
    settings.configure(
        ROOT_URLCONF=__name__,
        MIDDLEWARE=["common_utils.django.RequestContextMiddleware"],
        ALLOWED_HOSTS=["*"],
        INSTALLED_APPS=[],
        LOGGING_CONFIG=None,
    )
    if variant == "otel-django":
        # The named baseline of the SDK row: the standard instrumentation's server span on the
        # previous release's request path (its middleware goes first in MIDDLEWARE).
        from opentelemetry.instrumentation.django import DjangoInstrumentor

        DjangoInstrumentor().instrument()
    django.setup()
    from django.core.handlers.wsgi import WSGIHandler

    import common_utils
    from common_utils import JsonLogFormatter, RequestContextLogFilter

    handler = logging.StreamHandler(Path(os.devnull).open("w"))  # noqa: SIM115 - as long as the run
    handler.addFilter(RequestContextLogFilter())
    handler.setFormatter(JsonLogFormatter())
    logging.getLogger("bench").addHandler(handler)
    logging.getLogger("bench").setLevel(logging.INFO)
    logging.getLogger("bench").propagate = False

    app = WSGIHandler()
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/api/orders/7/",
        "QUERY_STRING": "",
        "SERVER_NAME": "orders.internal",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.2",
        "HTTP_HOST": "orders.internal",
        "HTTP_USER_AGENT": "common-clients/0.3 users",
        "HTTP_X_REQUEST_ID": "bench-request-1",
        "HTTP_TRACEPARENT": CALLER,
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
    }

    def start_response(status: str, headers: Any) -> None:
        assert status.startswith("200"), status

    def one() -> None:
        request = dict(environ, **{"wsgi.input": io.BytesIO(b"")})
        body = b"".join(app(request, start_response))
        assert b"4bf92f3577b34da6a3ce929d0e0e4736" in body, body

    for _ in range(min(requests, 1000)):  # warm-up
        one()
    slices = []
    per_slice = max(requests // 10, 1)
    for _ in range(10):
        # CPU time of the process (the batch processor's thread included), not wall time: on a
        # shared machine, wall time is mostly waiting for a core.
        started = time.process_time()
        for _ in range(per_slice):
            one()
        slices.append((time.process_time() - started) / per_slice * 1e6)
    print(json.dumps({"us": statistics.median(slices), "module": common_utils.__file__}))


def _worker_command(variant: str, requests: int) -> list[str]:
    return [sys.executable, __file__, "--request-path-worker", variant, str(requests)]


def _worker_env(path: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (path, env.get("PYTHONPATH", "")) if p)
    return env


def _served(requests: int) -> int:
    """How many requests a worker asked for ``requests`` serves: its warm-up and its slices."""
    return min(requests, 1000) + max(requests // 10, 1) * 10


def instructions_per_request(variant: str, path: str, requests: int) -> float:
    """Instructions one request takes in ``variant``, counted by valgrind's callgrind: a worker
    serving a few requests subtracted from one serving ``requests``, so that the interpreter's
    start and Django's set-up drop out. The same count for the same code whatever else the
    machine runs, where CPU time moves by more than the 2% the no-SDK goal allows."""
    counts = [
        instructions(_worker_command(variant, n), _worker_env(path), what=variant)
        for n in (10, requests)
    ]
    return (counts[1] - counts[0]) / (_served(requests) - _served(10))


def request_path(rounds: int, requests: int, instructions: int) -> None:
    """The request path's tracing: each variant's µs per request and its ratio to the baseline."""
    with tempfile.TemporaryDirectory(prefix="bench-request-path-") as folder:
        version, previous = previous_release_source(Path(folder))
        paths = {
            v: str(previous) if v in PREVIOUS_TREE else "" for v in REQUEST_PATH_VARIANTS.values()
        }
        measured: dict[str, list[float]] = {v: [] for v in REQUEST_PATH_VARIANTS.values()}
        for _ in range(rounds):
            for variant in REQUEST_PATH_VARIANTS.values():
                out = subprocess.run(
                    _worker_command(variant, requests),
                    env=_worker_env(paths[variant]),
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if out.returncode != 0:
                    raise SystemExit(f"bench: request path {variant} failed:\n{out.stderr[-2000:]}")
                result = json.loads(out.stdout.strip().splitlines()[-1])
                if (variant in PREVIOUS_TREE) != result["module"].startswith(str(previous)):
                    raise SystemExit(f"bench: {variant} ran {result['module']}")
                measured[variant].append(result["us"])
        counted = {
            variant: instructions_per_request(variant, paths[variant], instructions)
            for variant in REQUEST_PATH_VARIANTS.values()
            if instructions
        }
    print(
        f"\nrequest path in-process (WSGI handler, RequestContextMiddleware, a JSON log line, "
        f"outgoing_headers()), {rounds} rounds x {requests} requests per variant, interleaved; "
        f"baseline: common-utils {version} as released\n"
    )
    print(f"{'variant':<40}{'CPU us/req':>12}{'+us':>8}{'ratio':>8}{'goal':>8}")
    base = measured["previous"]
    for label, variant in REQUEST_PATH_VARIANTS.items():
        ratio = statistics.median(m / b for m, b in zip(measured[variant], base, strict=True))
        added = statistics.median(m - b for m, b in zip(measured[variant], base, strict=True))
        goal = REQUEST_PATH_GOALS.get(variant)
        print(
            f"{label:<40}{statistics.median(measured[variant]):>12.1f}{added:>8.1f}"
            f"{ratio:>7.3f}x{'' if goal is None else f'{goal:>7.2f}x'}"
        )
    if instructions:
        print(
            f"\ninstructions per request (callgrind; {_served(instructions)} requests less "
            f"{_served(10)}, per variant)\n"
        )
        print(f"{'variant':<40}{'instr/req':>12}{'ratio':>9}{'goal':>8}")
        for label, variant in REQUEST_PATH_VARIANTS.items():
            goal = REQUEST_PATH_GOALS.get(variant)
            print(
                f"{label:<40}{counted[variant]:>12,.0f}"
                f"{counted[variant] / counted['previous']:>8.3f}x"
                f"{'' if goal is None else f'{goal:>7.2f}x'}"
            )
    for variant in REQUEST_PATH_VARIANTS.values():
        if variant in REQUEST_PATH_GOALS:
            ratio = statistics.median(m / b for m, b in zip(measured[variant], base, strict=True))
            print(f"request path {variant}: {ratio:.3f}x the previous release (CPU time)")
            if instructions:
                ratio = counted[variant] / counted["previous"]
                print(f"request path {variant}: {ratio:.3f}x the previous release (instructions)")
    ours, standard = (
        statistics.median(m - b for m, b in zip(measured[variant], base, strict=True))
        for variant in ("sdk", "otel-django")
    )
    print(
        f"with the SDK, what a request's spans add (CPU): this tree +{ours:.1f} us, "
        f"OpenTelemetry's Django instrumentation +{standard:.1f} us on the previous release: "
        f"{ours / standard if standard else float('inf'):.2f}x"
    )
    if instructions:
        ours, standard = (counted[v] - counted["previous"] for v in ("sdk", "otel-django"))
        print(
            f"with the SDK, what a request's spans add (instructions): this tree +{ours:,.0f}, "
            f"OpenTelemetry's Django instrumentation +{standard:,.0f}: "
            f"{ours / standard if standard else float('inf'):.2f}x"
        )


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--request-path-worker":
        request_path_worker(sys.argv[2], int(sys.argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0, help="per round and server")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--part", choices=("all", "request-path", "stack"), default="all")
    parser.add_argument("--path-rounds", type=int, default=7, help="request path: rounds")
    parser.add_argument("--path-requests", type=int, default=4000, help="request path: per round")
    parser.add_argument(
        "--path-instructions",
        type=int,
        default=2000,
        help="request path: requests counted under callgrind per variant (0: no count)",
    )
    args = parser.parse_args()
    if args.part in ("all", "request-path"):
        request_path(args.path_rounds, args.path_requests, args.path_instructions)
    if args.part != "request-path":
        stack_part(args)
    return 0


def stack_part(args: argparse.Namespace) -> None:
    """The services part: the split's cost, and tracing's on the request path of orders."""
    with (
        tempfile.TemporaryDirectory(prefix="bench-services-") as folder,
        installed_stack(ROOT, Path(folder), say=lambda line: None) as stack,
    ):
        token: str = sign_in(stack, audiences="orders")["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        for n in range(3):
            placed = httpx.post(
                f"{stack.url('orders')}/api/orders/",
                json={"product": f"part-{n}", "quantity": n + 1},
                headers=headers,
            )
            placed.raise_for_status()
        local = stack.start_variant(
            "orders", port=free_port(), env={"ORDERS_USERS_LOOKUP": "inprocess"}
        )
        uncached = stack.start_variant("orders", port=free_port(), env={"USERS_CACHE_SIZE": "0"})
        # Tracing on as a service turns it on (README, "Tracing"): the SDK, a batch span
        # processor, the OTLP/HTTP exporter (to a sink that answers and drops), OpenTelemetry's
        # Django and httpx instrumentations, and Commons' own spans.
        stack_sink = _OtlpSink()
        tracing = {"OTEL_EXPORTER_OTLP_ENDPOINT": stack_sink.url, "OTEL_SERVICE_NAME": "bench"}
        traced = stack.start_variant("orders", port=free_port(), env=tracing)
        # The common-* packages' spans alone (request, client call and attempt, token check).
        commons_traced = stack.start_variant(
            "orders",
            port=free_port(),
            env={**tracing, "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "django,httpx"},
        )

        def port_of(url: str) -> int:
            return int(url.rsplit(":", 1)[1])

        targets = {
            "split, users answers cached": stack.url("orders"),
            "split, cached, traced (SDK, OTLP)": traced,
            "split, cached, traced, common-* spans only": commons_traced,
            "split, uncached (USERS_CACHE_SIZE=0)": uncached,
            "in-process users lookup (baseline)": local,
        }
        pids = {label: server_pid(stack, port_of(url)) for label, url in targets.items()}
        for url in targets.values():  # warm-up: connections, tokens, JWKS, caches
            load(f"{url}/api/orders/", token, seconds=2.0, concurrency=args.concurrency)
        measured: dict[str, list[float]] = {label: [] for label in targets}
        # The orders server's CPU per request, per round: what tracing adds to the request path
        # is CPU in the server, which req/s on two shared cores (the load's threads compete for
        # them) show only through noise.
        cpu: dict[str, list[float]] = {label: [] for label in targets}
        for _ in range(args.rounds):
            for label, url in targets.items():
                before = process_tree_cpu(pids[label])
                latencies = load(
                    f"{url}/api/orders/", token, seconds=args.seconds, concurrency=args.concurrency
                )
                cpu[label].append((process_tree_cpu(pids[label]) - before) / len(latencies))
                measured[label] += latencies
    stack_sink.close()
    seconds = args.seconds * args.rounds
    results = {label: summary(values, seconds) for label, values in measured.items()}
    print(
        f"\nGET /api/orders/ (3 orders), gunicorn 2 workers x 4 threads per server, "
        f"{args.concurrency} client threads, {args.rounds} x {args.seconds:.0f} s interleaved; "
        f"CPU: the orders server's (master, workers, their threads) per request, median of rounds\n"
    )
    print(f"{'server':<44}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'CPU us':>9}")
    for label, (rps, p50, p99) in results.items():
        cpu_us = statistics.median(cpu[label]) * 1e6
        print(f"{label:<44}{rps:>9.0f}{p50:>9.2f}{p99:>9.2f}{cpu_us:>9.0f}")
    *splits, (_, (base_rps, base_p50, base_p99)) = results.items()
    print()
    for label, (rps, p50, p99) in splits:
        print(
            f"{label} / in-process: {rps / base_rps:.2f}x req/s, p50 {p50 / base_p50:.2f}x,"
            f" p99 {p99 / base_p99:.2f}x"
        )
    untraced = "split, users answers cached"
    print(
        f"\ntracing on in orders, the request path's CPU against the same server untraced "
        f"(median of the per-round ratios; goal <= {REQUEST_PATH_GOALS['sdk']:.2f}x; "
        f"the sink got {stack_sink.requests} exports):"
    )
    for label, what in (
        ("split, cached, traced (SDK, OTLP)", "with OpenTelemetry's Django and httpx spans"),
        ("split, cached, traced, common-* spans only", "the common-* packages' spans alone"),
    ):
        ratio = statistics.median(t / u for t, u in zip(cpu[label], cpu[untraced], strict=True))
        added = statistics.median(t - u for t, u in zip(cpu[label], cpu[untraced], strict=True))
        traced_p50 = results[label][1]
        print(
            f"  {what}: {ratio:.3f}x the CPU per request (+{added * 1e6:.0f} us), "
            f"p50 {traced_p50 / results[untraced][1]:.3f}x"
        )


if __name__ == "__main__":
    raise SystemExit(main())
