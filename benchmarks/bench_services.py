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
warm-up. Prints requests per second and p50/p99 latency of each, and the ratios of each split
server to the in-process one.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from commons_tools.demo import installed_stack, sign_in  # noqa: E402
from commons_tools.stack import free_port  # noqa: E402


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0, help="per round and server")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
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
        targets = {
            "split, users answers cached": f"{stack.url('orders')}/api/orders/",
            "split, uncached (USERS_CACHE_SIZE=0)": f"{uncached}/api/orders/",
            "in-process users lookup (baseline)": f"{local}/api/orders/",
        }
        for url in targets.values():  # warm-up: connections, tokens, JWKS, caches
            load(url, token, seconds=2.0, concurrency=args.concurrency)
        measured: dict[str, list[float]] = {label: [] for label in targets}
        for _ in range(args.rounds):
            for label, url in targets.items():
                measured[label] += load(
                    url, token, seconds=args.seconds, concurrency=args.concurrency
                )
    seconds = args.seconds * args.rounds
    results = {label: summary(values, seconds) for label, values in measured.items()}
    print(
        f"\nGET /api/orders/ (3 orders), gunicorn 2 workers x 4 threads per server, "
        f"{args.concurrency} client threads, {args.rounds} x {args.seconds:.0f} s interleaved\n"
    )
    print(f"{'server':<40}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    for label, (rps, p50, p99) in results.items():
        print(f"{label:<40}{rps:>9.0f}{p50:>9.2f}{p99:>9.2f}")
    *splits, (_, (base_rps, base_p50, base_p99)) = results.items()
    print()
    for label, (rps, p50, p99) in splits:
        print(
            f"{label} / in-process: {rps / base_rps:.2f}x req/s, p50 {p50 / base_p50:.2f}x,"
            f" p99 {p99 / base_p99:.2f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
