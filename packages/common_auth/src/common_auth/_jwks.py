"""Verification keys: parsing JWKs, and the cache of an issuer's JWKS with its refetch policy.

`JWKSCache` keeps the issuer's public keys by ``kid``. The policy, which bounds what the issuer
sees from us whatever tokens arrive:

- keys are fresh for the response's ``Cache-Control: max-age``, clamped to ``[min_ttl, max_ttl]``
  (``default_ttl`` without one; ``no-cache``/``no-store`` count as ``min_ttl``);
- an unknown ``kid`` triggers a refetch only when the last fetch is older than
  ``refetch_interval``: a flood of invented kids costs the issuer one request per interval;
- when a fetch fails, the keys already held stay in use (stale) and the next try waits
  ``retry_interval``; only a cache that never held keys raises `KeySetUnavailable`;
- one fetch at a time in the process: threads wait on a lock; asyncio tasks wait on a per-loop
  lock, then fetch in a worker thread under the same thread lock; whoever waited uses the keys
  the first one fetched.

Only asymmetric keys are kept (RSA of at least 2048 bits, EC P-256/384/521, Ed25519); each key
may verify only the algorithms that fit its type (and its ``alg``, when the JWK names one), so a
token can never choose HMAC with a public key as its secret.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from common_auth._errors import ConfigurationError, KeySetUnavailable, UnknownSigningKey
from common_auth._locks import LoopLocks
from common_auth._telemetry import JWKSFetchTelemetry
from common_auth._urls import endpoint_url
from common_utils import outgoing_headers

logger = logging.getLogger("common_auth.jwks")

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
EC_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
EDDSA_ALGORITHMS = frozenset({"EdDSA", "Ed25519"})
ASYMMETRIC_ALGORITHMS = RSA_ALGORITHMS | frozenset(EC_ALGORITHMS.values()) | EDDSA_ALGORITHMS
MIN_RSA_BITS = 2048
MAX_JWKS_BYTES = 256 * 1024
_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)\"?", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """A public key with its ``kid`` and the algorithms it may verify."""

    kid: str | None
    key: PublicKey
    algorithms: frozenset[str]


class KeySource(Protocol):
    """Where `TokenVerifier` finds the key for a token's ``kid``."""

    def get_key(self, kid: str | None) -> VerificationKey:
        """The key with this kid; raises `UnknownSigningKey` or `KeySetUnavailable`."""
        ...

    async def aget_key(self, kid: str | None) -> VerificationKey:
        """Async form of `get_key`."""
        ...


def _algorithms_for(key: PublicKey) -> frozenset[str]:
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise ValueError(f"RSA key of {key.key_size} bits (at least {MIN_RSA_BITS} needed)")
        return RSA_ALGORITHMS
    if isinstance(key, ec.EllipticCurvePublicKey):
        alg = EC_ALGORITHMS.get(key.curve.name)
        if alg is None:
            raise ValueError(f"unsupported curve {key.curve.name}")
        return frozenset({alg})
    return EDDSA_ALGORITHMS


def verification_key_from_jwk(jwk: Mapping[str, Any]) -> VerificationKey:
    """Parse one public (or private: only its public half is kept) JWK; ValueError if unusable."""
    kty = jwk.get("kty")
    kid = jwk.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise ValueError("kid is not a string")
    if jwk.get("use", "sig") != "sig":
        raise ValueError(f"use is {jwk.get('use')!r}, not 'sig'")
    data = json.dumps(dict(jwk))
    parsed: Any
    try:
        if kty == "RSA":
            parsed = RSAAlgorithm.from_jwk(data)
        elif kty == "EC":
            parsed = ECAlgorithm.from_jwk(data)
        elif kty == "OKP" and jwk.get("crv") == "Ed25519":
            parsed = OKPAlgorithm.from_jwk(data)
        else:
            raise ValueError(f"unsupported key type {kty!r} (only RSA, EC and Ed25519 are used)")
    except ValueError:
        raise
    except Exception as exc:  # PyJWT raises InvalidKeyError and friends: all mean "unusable"
        raise ValueError(f"{type(exc).__name__}: {exc}") from None
    public = parsed.public_key() if hasattr(parsed, "private_bytes") else parsed
    if not isinstance(
        public, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
    ):
        raise ValueError(f"unsupported key object {type(public).__name__}")
    algorithms = _algorithms_for(public)
    named = jwk.get("alg")
    if named is not None:
        if named not in algorithms:
            raise ValueError(f"alg {named!r} does not fit a {kty} key")
        algorithms = frozenset({named})
    return VerificationKey(kid=kid, key=public, algorithms=algorithms)


def parse_jwks(document: Any, *, source: str) -> dict[str | None, VerificationKey]:
    """The usable keys of a JWKS document by kid; unusable keys are skipped with a warning."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError(f"{source}: not a JWKS document (an object with a 'keys' list)")
    keys: dict[str | None, VerificationKey] = {}
    for index, jwk in enumerate(document["keys"]):
        if not isinstance(jwk, dict):
            logger.warning("%s: key %d is not an object; skipped", source, index)
            continue
        try:
            key = verification_key_from_jwk(jwk)
        except ValueError as exc:
            logger.warning("%s: key %d (kid %r) skipped: %s", source, index, jwk.get("kid"), exc)
            continue
        if key.kid in keys:
            logger.warning("%s: kid %r appears twice; the first is kept", source, key.kid)
            continue
        keys[key.kid] = key
    return keys


def _select(keys: Mapping[str | None, VerificationKey], kid: str | None) -> VerificationKey | None:
    found = keys.get(kid)
    if found is None and kid is None and len(keys) == 1:
        # A token without kid is accepted only when the issuer publishes a single key.
        return next(iter(keys.values()))
    return found


class StaticKeySet:
    """A fixed set of verification keys (a JWKS document or parsed keys) as a `KeySource`."""

    def __init__(self, keys: Mapping[str, Any] | Iterable[VerificationKey]) -> None:
        if isinstance(keys, Mapping):
            self._keys = parse_jwks(dict(keys), source="StaticKeySet")
        else:
            self._keys = {key.kid: key for key in keys}

    def get_key(self, kid: str | None) -> VerificationKey:
        found = _select(self._keys, kid)
        if found is None:
            raise UnknownSigningKey("no key has the token's kid")
        return found

    async def aget_key(self, kid: str | None) -> VerificationKey:
        return self.get_key(kid)


def ttl_from_cache_control(
    header: str | None, *, default: float, minimum: float, maximum: float
) -> float:
    """Seconds to keep a JWKS response: ``max-age`` clamped to ``[minimum, maximum]``."""
    if header is None:
        return max(minimum, min(default, maximum))
    lowered = header.lower()
    if "no-store" in lowered or "no-cache" in lowered:
        return minimum
    match = _MAX_AGE.search(header)
    seconds = float(match.group(1)) if match else default
    return max(minimum, min(seconds, maximum))


class JWKSCache:
    """The issuer's JWKS, fetched over HTTP and cached by kid (see the module doc for the policy).

    Args:
        jwks_url: where the issuer publishes its JWKS.
        min_ttl, max_ttl: bounds on how long a response is fresh, whatever Cache-Control says.
        default_ttl: how long a response without ``max-age`` is fresh.
        refetch_interval: an unknown kid triggers a refetch only when the last fetch is older.
        retry_interval: after a failed fetch, the next try waits this long.
        timeout: timeout in seconds of one fetch.
        clock: the monotonic clock the policy reads (tests pass a fake one).
    """

    def __init__(
        self,
        jwks_url: str,
        *,
        min_ttl: float = 60.0,
        max_ttl: float = 24 * 3600.0,
        default_ttl: float = 300.0,
        refetch_interval: float = 60.0,
        retry_interval: float = 10.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 <= min_ttl <= max_ttl:
            raise ConfigurationError("JWKSCache: need 0 <= min_ttl <= max_ttl")
        self.jwks_url = endpoint_url(jwks_url, owner="JWKSCache", name="jwks_url")
        self.min_ttl = min_ttl
        self.max_ttl = max_ttl
        self.default_ttl = default_ttl
        self.refetch_interval = refetch_interval
        self.retry_interval = retry_interval
        self.timeout = timeout
        self._clock = clock
        self.fetch_count = 0  # completed fetch attempts, successful or not: for tests and metrics
        self._keys: dict[str | None, VerificationKey] = {}
        self._loaded = False
        self._fresh_until = 0.0  # monotonic: keys are fresh before this
        self._last_attempt = -float("inf")  # monotonic time of the last fetch attempt
        self._last_failed = False
        self._generation = 0  # bumped by every attempt, so waiters know one happened
        self._thread_lock = threading.Lock()
        self._loop_locks = LoopLocks()

    def __repr__(self) -> str:
        return f"JWKSCache({self.jwks_url!r}, keys={sorted(map(str, self._keys))})"

    # -- the policy ------------------------------------------------------------------------

    def _lookup(self, kid: str | None) -> VerificationKey | None:
        """The key if it can be used without fetching: known and the cache fresh (or the
        issuer recently failed, in which case stale keys serve until the retry is due)."""
        key = _select(self._keys, kid)
        if key is not None and (
            self._clock() < self._fresh_until or not self._retry_due(self._clock())
        ):
            return key
        return None

    def _retry_due(self, now: float) -> bool:
        if not self._last_failed:
            return True
        return now - self._last_attempt >= self.retry_interval

    def _fetch_allowed(self, kid: str | None) -> bool:
        now = self._clock()
        if not self._loaded:
            return self._retry_due(now)
        if _select(self._keys, kid) is not None:
            return now >= self._fresh_until and self._retry_due(now)
        # Unknown kid: at most one refetch per refetch_interval, whatever the cache's age.
        return now - self._last_attempt >= max(self.refetch_interval, 0.0) and self._retry_due(now)

    def _result(self, kid: str | None) -> VerificationKey:
        key = _select(self._keys, kid)
        if key is not None:
            return key
        if not self._loaded:
            raise KeySetUnavailable(
                f"JWKS of {self.jwks_url} could not be fetched and no keys are cached"
            )
        raise UnknownSigningKey("no key published by the issuer has the token's kid")

    # -- fetching: one at a time across threads and event loops ------------------------

    def get_key(self, kid: str | None) -> VerificationKey:
        key = self._lookup(kid)
        if key is not None:
            return key
        if self._fetch_allowed(kid):
            self._fetch_once(kid, self._generation)
        return self._result(kid)

    async def aget_key(self, kid: str | None) -> VerificationKey:
        key = self._lookup(kid)
        if key is not None:
            return key
        if self._fetch_allowed(kid):
            generation = self._generation
            # Tasks of one loop queue here, so one worker thread at most per loop; the thread
            # then takes the lock that sync callers use: one fetch at a time, process-wide.
            async with self._loop_locks.for_running_loop():
                if self._generation == generation and self._fetch_allowed(kid):
                    await asyncio.to_thread(self._fetch_once, kid, generation)
        return self._result(kid)

    def refresh(self) -> None:
        """Fetch the JWKS now (at start-up, say); a failure keeps the keys already held."""
        with self._thread_lock:
            self._fetch_and_apply()

    async def arefresh(self) -> None:
        """Async form of `refresh`."""
        async with self._loop_locks.for_running_loop():
            await asyncio.to_thread(self.refresh)

    def _fetch_once(self, kid: str | None, generation: int) -> None:
        with self._thread_lock:
            # Whoever waited here while another fetched uses that fetch's keys.
            if self._generation == generation and self._fetch_allowed(kid):
                self._fetch_and_apply()

    def _fetch_and_apply(self) -> None:
        with JWKSFetchTelemetry(self.jwks_url) as telemetry:
            outcome = self._fetch(telemetry)
            result, keys = self._apply(outcome)
            telemetry.finished(outcome, result, keys)

    def _fetch(self, telemetry: JWKSFetchTelemetry) -> httpx.Response | Exception:
        headers = telemetry.headers({"Accept": "application/json", **outgoing_headers()})
        try:
            with httpx.Client(timeout=self.timeout) as client:
                return client.get(self.jwks_url, headers=headers)
        except httpx.HTTPError as exc:
            return exc

    # -- applying a fetch ------------------------------------------------------------------

    def _apply(self, outcome: httpx.Response | Exception) -> tuple[str, int]:
        """Take a fetch's keys, or keep the cached ones; its result (``ok``, ``unreachable``,
        ``http_error``, ``invalid``) and how many keys it gave."""
        self.fetch_count += 1
        self._generation += 1
        self._last_attempt = self._clock()
        try:
            keys, ttl = self._parse(outcome)
        except ValueError as exc:
            self._last_failed = True
            logger.warning(
                "JWKS fetch from %s failed (%s); %s",
                self.jwks_url,
                exc,
                "keeping the cached keys" if self._loaded else "no keys cached",
            )
            if isinstance(outcome, Exception):
                return "unreachable", 0
            return ("http_error" if outcome.status_code != 200 else "invalid"), 0
        self._keys = keys
        self._loaded = True
        self._last_failed = False
        self._fresh_until = self._last_attempt + ttl
        logger.debug("JWKS of %s: %d key(s), fresh for %.0fs", self.jwks_url, len(keys), ttl)
        return "ok", len(keys)

    def _parse(
        self, outcome: httpx.Response | Exception
    ) -> tuple[dict[str | None, VerificationKey], float]:
        if isinstance(outcome, Exception):
            raise ValueError(f"{type(outcome).__name__}: {outcome}")
        if outcome.status_code != 200:
            raise ValueError(f"HTTP {outcome.status_code}")
        if len(outcome.content) > MAX_JWKS_BYTES:
            raise ValueError(f"response larger than {MAX_JWKS_BYTES} bytes")
        try:
            document = json.loads(outcome.content)
        except ValueError:
            raise ValueError("response is not JSON") from None
        keys = parse_jwks(document, source=self.jwks_url)
        ttl = ttl_from_cache_control(
            outcome.headers.get("Cache-Control"),
            default=self.default_ttl,
            minimum=self.min_ttl,
            maximum=self.max_ttl,
        )
        return keys, ttl
