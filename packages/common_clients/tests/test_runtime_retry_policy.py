"""The retry policy on its own: what may be retried, and how long each wait is."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest

from common_clients import RetryPolicy
from common_clients._retry import retry_after


def _response(status: int = 503, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers={k.replace("_", "-"): v for k, v in headers.items()})


@pytest.mark.parametrize(
    ("method", "headers", "allowed"),
    [
        ("GET", {}, True),
        ("HEAD", {}, True),
        ("PUT", {}, True),
        ("DELETE", {}, True),
        ("POST", {}, False),
        ("PATCH", {}, False),
        ("POST", {"Idempotency-Key": "k"}, True),
        ("PATCH", {"Idempotency-Key": "k"}, True),
    ],
)
def test_only_requests_safe_to_repeat_may_be_retried(method, headers, allowed):
    request = httpx.Request(method, "http://svc/x", headers=headers)
    assert RetryPolicy().may_retry(request) is allowed


@pytest.mark.parametrize("status", [408, 429, 502, 503, 504])
def test_transient_statuses_are_retried(status):
    assert RetryPolicy().should_retry_status(status)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 500, 501])
def test_other_statuses_are_not(status):
    assert not RetryPolicy().should_retry_status(status)


def test_backoff_is_full_jitter_under_an_exponential_ceiling():
    policy = RetryPolicy(initial_backoff=0.5, max_backoff=3.0)
    for attempt, ceiling in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 3.0), (10, 3.0)]:
        delays = [policy.delay(attempt) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling / 2  # spread over the range, not pinned to one end
        assert min(delays) < ceiling / 2


def test_retry_after_in_seconds_date_and_milliseconds():
    assert retry_after(_response(retry_after="7")) == 7.0
    assert retry_after(_response(retry_after_ms="250")) == 0.25
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28.0 <= (retry_after(_response(retry_after=later)) or 0) <= 30.0
    past = email.utils.formatdate(time.time() - 30, usegmt=True)
    assert retry_after(_response(retry_after=past)) == 0.0
    assert retry_after(_response(retry_after="soon")) is None
    assert retry_after(_response()) is None


def test_a_server_asked_wait_wins_unless_it_is_beyond_the_cap():
    policy = RetryPolicy(initial_backoff=0.0, max_retry_after=10.0)
    assert policy.delay(0, _response(retry_after="4")) == 4.0
    assert policy.delay(0, _response(retry_after="60")) == 0.0  # capped: back to the backoff


@pytest.mark.parametrize(
    ("field", "value"),
    [("max_retries", -1), ("initial_backoff", -0.1), ("max_backoff", float("inf"))],
)
def test_nonsense_settings_are_refused_naming_the_field(field, value):
    with pytest.raises(ValueError, match=f"RetryPolicy.{field}"):
        RetryPolicy(**{field: value})
