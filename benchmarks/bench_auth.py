"""Benchmark of common_auth's token verification (``nox -s bench -- auth``).

1. Verifications per second for RS256, ES256 and EdDSA with a warm JWKS (fetched over HTTP
   from 127.0.0.1, key looked up by kid on every call), against the baseline: PyJWT's own
   ``jwt.decode`` with a pre-loaded key object on the same tokens, with the same checks
   (issuer, audience, leeway, required claims). PyJWT's ``PyJWKClient`` path (kid lookup in its
   cache, then ``jwt.decode``) is shown for reference. Rounds are interleaved and the median is
   reported, so that load from other processes hits every contender alike.
2. A flood of validly signed tokens with unknown kids from 4 threads: how many JWKS fetches
   reach the issuer, for `JWKSCache` and for ``PyJWKClient`` with the same interval (a short
   one, 1 s, so that the bound shows within seconds; the default is 60 s).
3. What verification's telemetry (a span and a count per verification, ``common_auth._telemetry``)
   costs: ``verify`` against the same verifier with ``telemetry = False``, the path with the
   telemetry code absent; the two take turns every 1/10 of a sample and each keeps its fastest
   turn. First with no OpenTelemetry SDK in the process (goal <= 1.02), then with the SDK
   installed (a ``TracerProvider`` with a ``BatchSpanProcessor`` whose exporter drops the spans,
   and a ``MeterProvider``; goal <= 1.15). ``--telemetry-only`` runs this part alone.

Run: ``python benchmarks/bench_auth.py [--seconds 0.5] [--rounds 5] [--telemetry-only]``. Takes
about a minute and a half.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from jwt import PyJWKClient

from common_auth import (
    JWKSCache,
    SigningKey,
    SigningKeySet,
    StaticKeySet,
    TokenVerifier,
    UnknownSigningKey,
    issue_access_token,
)

ISSUER = "https://issuer.bench.test"
AUDIENCE = "https://api.bench.test"
ALGORITHMS = ("RS256", "ES256", "EdDSA")
TOKENS_PER_ALG = 200
REQUIRED = ["iss", "sub", "aud", "exp", "iat"]


class _JWKSServer:
    """A JWKS endpoint on 127.0.0.1 with a free port that counts its fetches."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.fetches = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with server._lock:
                    server.fetches += 1
                body = json.dumps(server.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", "max-age=300")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (base name)
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._http.server_port}/jwks.json"

    @contextmanager
    def running(self) -> Iterator[_JWKSServer]:
        thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        try:
            yield self
        finally:
            self._http.shutdown()
            thread.join()
            self._http.server_close()


def _rate(function: Callable[[str], object], tokens: list[str], seconds: float) -> float:
    """Calls per second of `function` over `tokens`, cycling for about `seconds`."""
    done = 0
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        for token in tokens:
            function(token)
        done += len(tokens)
        now = time.perf_counter()
        if now >= deadline:
            return done / (now - started)


def bench_throughput(seconds: float, rounds: int) -> list[tuple[str, float, float, float]]:
    keys = {alg: SigningKey.generate(alg, kid=f"{alg.lower()}-1") for alg in ALGORITHMS}
    document = {"keys": [key.public_jwk() for key in keys.values()]}
    rows = []
    with _JWKSServer(document).running() as server:
        for alg, key in keys.items():
            key_set = SigningKeySet(key)
            tokens = [
                issue_access_token(
                    key_set,
                    issuer=ISSUER,
                    subject=f"user-{i}",
                    audience=AUDIENCE,
                    scopes=["orders:read", "orders:write"],
                    client_id="web",
                )
                for i in range(TOKENS_PER_ALG)
            ]
            public = key.private_key.public_key()

            def baseline(token: str, public: Any = public, alg: str = alg) -> object:
                return jwt.decode(
                    token,
                    public,
                    algorithms=[alg],
                    audience=AUDIENCE,
                    issuer=ISSUER,
                    leeway=30,
                    options={"require": REQUIRED},
                )

            jwk_client = PyJWKClient(server.url, cache_keys=True)

            def pyjwk_path(token: str, client: PyJWKClient = jwk_client, alg: str = alg) -> object:
                signing_key = client.get_signing_key_from_jwt(token)
                return jwt.decode(
                    token,
                    signing_key.key,
                    algorithms=[alg],
                    audience=AUDIENCE,
                    issuer=ISSUER,
                    leeway=30,
                    options={"require": REQUIRED},
                )

            verifier = TokenVerifier(
                issuer=ISSUER, audience=AUDIENCE, keys=JWKSCache(server.url), algorithms=[alg]
            )
            for token in tokens[:5]:  # warm: JWKS fetched, caches filled, results agree
                ours = verifier.verify(token)
                assert ours.sub == baseline(token)["sub"] == pyjwk_path(token)["sub"]  # type: ignore[index]
            samples: dict[str, list[float]] = {"baseline": [], "ours": [], "pyjwk": []}
            for _ in range(rounds):
                samples["baseline"].append(_rate(baseline, tokens, seconds))
                samples["ours"].append(_rate(verifier.verify, tokens, seconds))
                samples["pyjwk"].append(_rate(pyjwk_path, tokens, seconds))
            rows.append(
                (
                    alg,
                    statistics.median(samples["baseline"]),
                    statistics.median(samples["ours"]),
                    statistics.median(samples["pyjwk"]),
                )
            )
    return rows


def _forged_tokens(count: int) -> list[str]:
    """Validly signed tokens whose kids the issuer never published."""
    attacker = SigningKeySet(SigningKey.generate("ES256", kid="attacker"))
    forged = []
    for i in range(count):
        token = issue_access_token(attacker, issuer=ISSUER, subject="x", audience=AUDIENCE)
        _, rest = token.split(".", 1)
        header = {"alg": "ES256", "kid": f"bogus-{i}", "typ": "at+jwt"}
        encoded = jwt.utils.base64url_encode(json.dumps(header).encode()).decode()
        forged.append(f"{encoded}.{rest}")
    return forged


def _flood(check: Callable[[str], object], forged: list[str], seconds: float) -> int:
    """Send `forged` tokens from 4 threads for `seconds`; the number of tokens sent."""
    sent = [0] * 4
    deadline = time.perf_counter() + seconds

    def attack(index: int) -> None:
        chunk = forged[index::4]
        while time.perf_counter() < deadline:
            for token in chunk:
                with suppress(UnknownSigningKey, jwt.PyJWKClientError):
                    check(token)
            sent[index] += len(chunk)

    workers = [threading.Thread(target=attack, args=(i,)) for i in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(sent)


def bench_flood(seconds: float, interval: float) -> list[tuple[str, int, int, int]]:
    """(contender, tokens sent, JWKS fetches during the flood, policy bound) per contender."""
    real = SigningKey.generate("ES256", kid="real")
    genuine = issue_access_token(SigningKeySet(real), issuer=ISSUER, subject="a", audience=AUDIENCE)
    forged = _forged_tokens(2000)
    bound = int(seconds / interval) + 1
    rows = []
    with _JWKSServer({"keys": [real.public_jwk()]}).running() as server:
        verifier = TokenVerifier(
            issuer=ISSUER,
            audience=AUDIENCE,
            keys=JWKSCache(server.url, refetch_interval=interval),
        )
        verifier.verify(genuine)
        server.fetches = 0
        sent = _flood(verifier.verify, forged, seconds)
        rows.append(("JWKSCache", sent, server.fetches, bound))

        client = PyJWKClient(server.url, cache_keys=True, cooldown_duration=interval)
        client.get_signing_key("real")
        server.fetches = 0
        sent = _flood(client.get_signing_key_from_jwt, forged, seconds)
        rows.append(("PyJWKClient", sent, server.fetches, bound))
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


def bench_telemetry(seconds: float, rounds: int) -> list[tuple[str, str, float, float]]:
    """(phase, alg, verifications/s traced, verifications/s with telemetry off) per alg, first
    with no SDK, then with the SDK installed (for good: run it last)."""
    rows = []
    keys = {alg: SigningKey.generate(alg, kid=f"{alg.lower()}-1") for alg in ALGORITHMS}
    setups = []
    for alg, key in keys.items():
        tokens = [
            issue_access_token(
                SigningKeySet(key), issuer=ISSUER, subject=f"user-{i}", audience=AUDIENCE
            )
            for i in range(TOKENS_PER_ALG)
        ]
        traced = TokenVerifier(
            issuer=ISSUER, audience=AUDIENCE, keys=StaticKeySet([key.verification_key()])
        )
        absent = TokenVerifier(
            issuer=ISSUER, audience=AUDIENCE, keys=StaticKeySet([key.verification_key()])
        )
        absent.telemetry = False
        setups.append((alg, tokens, traced, absent))
    for phase in ("no SDK", "SDK, batch"):
        if phase != "no SDK":
            _install_sdk()
        for alg, tokens, traced, absent in setups:
            samples: dict[str, list[float]] = {"traced": [], "absent": []}
            _rate(traced.verify, tokens, seconds / 5)
            _rate(absent.verify, tokens, seconds / 5)
            for _ in range(rounds):
                # The two take turns every 1/10 of a sample, and each keeps its fastest turn: the
                # difference is a few percent, which a shared machine's load would drown.
                for _ in range(10):
                    samples["traced"].append(_rate(traced.verify, tokens[:20], seconds / 10))
                    samples["absent"].append(_rate(absent.verify, tokens[:20], seconds / 10))
            rows.append(
                (
                    phase,
                    alg,
                    max(samples["traced"]),
                    max(samples["absent"]),
                )
            )
    return rows


def _print_telemetry(seconds: float, rounds: int) -> None:
    print("\ntelemetry: verifications per second, traced against telemetry = False")
    print(f"{'':<12}{'alg':<7}{'traced':>12}{'absent':>12}{'cost':>8}  goal")
    for phase, alg, traced, absent in bench_telemetry(seconds, rounds):
        goal = "<= 1.02x" if phase == "no SDK" else "<= 1.15x"
        print(
            f"{phase:<12}{alg:<7}{traced:>12,.0f}{absent:>12,.0f}{absent / traced:>7.3f}x  {goal}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="length of one sample")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved samples per contender")
    parser.add_argument("--flood-seconds", type=float, default=3.0, help="length of the flood")
    parser.add_argument(
        "--refetch-interval", type=float, default=1.0, help="unknown-kid refetch interval"
    )
    parser.add_argument("--telemetry-only", action="store_true")
    args = parser.parse_args()
    if args.telemetry_only:
        _print_telemetry(args.seconds, args.rounds)
        return

    print(
        f"PyJWT {jwt.__version__}; {TOKENS_PER_ALG} distinct tokens per algorithm; "
        f"median of {args.rounds} interleaved samples of {args.seconds}s\n"
    )
    print("verifications per second, warm JWKS")
    print(
        f"{'alg':<7}{'PyJWT decode, key given':>25}{'TokenVerifier (kid)':>22}{'ratio':>8}"
        f"{'PyJWKClient path':>19}{'ratio':>8}"
    )
    for alg, baseline, ours, pyjwk in bench_throughput(args.seconds, args.rounds):
        print(
            f"{alg:<7}{baseline:>25,.0f}{ours:>22,.0f}{ours / baseline:>7.2f}x"
            f"{pyjwk:>19,.0f}{pyjwk / baseline:>7.2f}x"
        )

    interval = args.refetch_interval
    print(
        f"\nunknown-kid flood: {args.flood_seconds:.0f}s from 4 threads, "
        f"refetch interval (JWKSCache) = cooldown (PyJWKClient) = {interval}s"
    )
    print(f"{'':<14}{'forged tokens':>15}{'JWKS fetches':>15}{'at most':>10}")
    for name, sent, fetches, bound in bench_flood(args.flood_seconds, interval):
        print(f"{name:<14}{sent:>15,}{fetches:>15}{bound:>10}")

    # Last: it installs the SDK in this process, for good.
    _print_telemetry(args.seconds, args.rounds)


if __name__ == "__main__":
    main()
