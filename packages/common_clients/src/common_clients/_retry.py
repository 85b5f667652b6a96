"""The retry policy: which failures are retried, how many times, and how long to wait between.

Retried: connection errors, timeouts and the statuses 408, 429, 502, 503 and 504, but only for
requests that are safe to repeat: idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE, TRACE), and
POST or PATCH when they carry an ``Idempotency-Key`` (the service then applies them once). The wait
before retry *n* (from 0) is drawn uniformly from ``[0, min(max_backoff, initial_backoff * 2**n)]``
("full jitter", which spreads a crowd of clients out instead of synchronising them), unless the
response says how long to wait (``Retry-After`` in seconds or as an HTTP date, or
``retry-after-ms``) within ``max_retry_after``: then that wait is used as given.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from dataclasses import dataclass

import httpx

__all__ = ["IDEMPOTENCY_KEY_HEADER", "RetryPolicy"]

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
_RETRYABLE_STATUSES = frozenset({408, 429, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a client retries; ``max_retries=0`` sends every request exactly once.

    All durations are in seconds. ``max_retry_after`` caps how long a server may ask the client to
    wait: a longer ``Retry-After`` falls back to the jittered backoff rather than stall the caller.
    """

    max_retries: int = 2
    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"RetryPolicy.max_retries must be >= 0, got {self.max_retries}")
        for name in ("initial_backoff", "max_backoff", "max_retry_after"):
            value = getattr(self, name)
            if not (value >= 0 and math.isfinite(value)):
                raise ValueError(f"RetryPolicy.{name} must be a finite number >= 0, got {value}")

    def may_retry(self, request: httpx.Request) -> bool:
        """Whether ``request`` is safe to send again."""
        return request.method in _IDEMPOTENT_METHODS or IDEMPOTENCY_KEY_HEADER in request.headers

    def should_retry_status(self, status_code: int) -> bool:
        """Whether a response with ``status_code`` is worth another attempt."""
        return status_code in _RETRYABLE_STATUSES

    def delay(self, attempt: int, response: httpx.Response | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0 for the first retry)."""
        if response is not None:
            asked = retry_after(response)
            if asked is not None and asked <= self.max_retry_after:
                return asked
        ceiling = min(self.max_backoff, self.initial_backoff * 2.0**attempt)
        return random.uniform(0.0, ceiling)  # noqa: S311 - jitter, not cryptography


def retry_after(response: httpx.Response) -> float | None:
    """The wait a response asks for, in seconds, or ``None`` when it asks for none (or nonsense)."""
    milliseconds = response.headers.get("retry-after-ms")
    if milliseconds is not None:
        try:
            value = float(milliseconds) / 1000.0
        except ValueError:
            value = math.nan
        if math.isfinite(value) and value >= 0:
            return value
    header = response.headers.get("retry-after")
    if header is None:
        return None
    header = header.strip()
    if header.isdigit():
        return float(header)
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, float(when.timestamp()) - time.time())
