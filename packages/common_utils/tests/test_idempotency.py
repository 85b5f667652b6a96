"""IdempotencyMiddleware: a repeated unsafe request with the same Idempotency-Key acts once.

On PostgreSQL when ``COMMONS_TEST_POSTGRES_URL`` is set, SQLite files otherwise; the views are in
``cu_testproject/idempotent_urls.py`` and write orders in the ``orders`` database.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from cu_testproject import idempotent_urls
from cu_testproject.cu_orders.models import Order
from cu_testproject.settings import build_settings
from django.core.management import CommandError, call_command
from django.db import connections
from django.test import Client, override_settings
from django.utils import timezone

from common_utils.django import purge_idempotency_records
from common_utils.django.models import IdempotencyRecord

DATABASES = ["default", "orders", "billing"]
MIDDLEWARE = [
    "common_utils.django.RequestContextMiddleware",
    "cu_testproject.idempotent_urls.HeaderAuthenticationMiddleware",
    "common_utils.django.IdempotencyMiddleware",
]


def _common_utils(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict(build_settings({})["COMMON_UTILS"])
    return {**base, "IDEMPOTENCY_DATABASE": "orders", **overrides}


@pytest.fixture(autouse=True)
def _project() -> Iterator[None]:
    idempotent_urls.RUNS.clear()
    idempotent_urls.GATE.reset()
    with override_settings(
        ROOT_URLCONF="cu_testproject.idempotent_urls",
        MIDDLEWARE=MIDDLEWARE,
        COMMON_UTILS=_common_utils(),
    ):
        yield
    idempotent_urls.GATE.opened.set()  # never leave a view waiting


def _post(
    path: str,
    body: dict[str, Any] | None = None,
    *,
    key: str | None = "key-1",
    user: str | None = "alice",
    extra_headers: dict[str, str] | None = None,
) -> Any:
    headers = dict(extra_headers or {})
    if key is not None:
        headers["Idempotency-Key"] = key
    if user is not None:
        headers["X-Test-User"] = user
    return Client().post(
        path, body if body is not None else {"item": "saw"}, "application/json", headers=headers
    )


pytestmark = pytest.mark.django_db(databases=DATABASES, transaction=True)


def test_a_repeat_gets_the_first_answer_and_the_view_runs_once() -> None:
    first = _post("/orders/")
    again = _post("/orders/")

    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again["Location"] == first["Location"]
    assert again["Content-Type"] == first["Content-Type"] == "application/json"
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert again["X-Request-ID"] != first["X-Request-ID"]  # each exchange has its own id
    assert idempotent_urls.RUNS == {"place": 1}
    assert Order.objects.using("orders").count() == 1


def test_the_record_is_written_in_the_views_database_with_the_answer() -> None:
    first = _post("/orders/", key="k-record")

    record = IdempotencyRecord.objects.using("orders").get()
    assert (record.caller, record.key, record.status) == ("user:alice", "k-record", 201)
    assert record.request_line == "POST /orders/"
    assert bytes(record.body or b"") == first.content
    assert record.expires_at - record.created_at == timedelta(days=1)
    assert not IdempotencyRecord.objects.using("default").exists()


def test_without_a_key_or_on_a_safe_method_every_request_runs() -> None:
    _post("/orders/", key=None)
    _post("/orders/", key=None)
    Client().get("/orders/", headers={"Idempotency-Key": "k", "X-Test-User": "alice"})

    assert idempotent_urls.RUNS == {"place": 3}
    assert not IdempotencyRecord.objects.using("orders").exists()


def test_keys_are_per_caller_and_anonymous_callers_share_one_scope() -> None:
    _post("/orders/", user="alice")
    _post("/orders/", user="bob")
    anonymous = _post("/orders/", user=None)
    anonymous_again = _post("/orders/", user=None)

    assert idempotent_urls.RUNS == {"place": 3}
    assert anonymous_again.content == anonymous.content
    callers = set(IdempotencyRecord.objects.using("orders").values_list("caller", flat=True))
    assert callers == {"user:alice", "user:bob", "anonymous"}


def test_the_same_key_with_another_body_is_a_422_problem() -> None:
    _post("/orders/", {"item": "saw"})
    other = _post("/orders/", {"item": "hammer"})
    other_path = _post("/orders/?total=99", {"item": "saw"})

    for answer in (other, other_path):
        assert answer.status_code == 422
        assert answer["Content-Type"] == "application/problem+json"
        problem = answer.json()
        assert problem["type"] == "https://commons.invalid/problems/idempotency_key_reused"
        assert "'key-1'" in problem["detail"]
        assert "POST /orders/" in problem["detail"]
    assert idempotent_urls.RUNS == {"place": 1}


@pytest.mark.parametrize("key", ["", "   ", "x" * 256, "caf\u00e9", "tab\there"])
def test_a_malformed_key_is_a_400_problem_and_nothing_runs(key: str) -> None:
    answer = _post("/orders/", key=key)

    assert answer.status_code == 400
    assert answer.json()["type"] == "https://commons.invalid/problems/invalid_idempotency_key"
    assert idempotent_urls.RUNS == {}


def test_a_quoted_key_is_the_same_key_unquoted() -> None:
    _post("/orders/", key='"abc"')
    again = _post("/orders/", key="abc")

    assert again["Idempotent-Replayed"] == "true"
    assert idempotent_urls.RUNS == {"place": 1}


def test_a_5xx_answer_is_rolled_back_and_not_kept_so_the_retry_runs_again() -> None:
    first = _post("/unavailable/")
    second = _post("/unavailable/")

    assert first.status_code == second.status_code == 503
    assert "Idempotent-Replayed" not in second
    assert idempotent_urls.RUNS == {"unavailable": 2}
    assert not IdempotencyRecord.objects.using("orders").exists()
    assert Order.objects.using("orders").count() == 0  # the view's writes went with it


def test_a_4xx_answer_is_kept() -> None:
    _post("/invalid/")
    again = _post("/invalid/")

    assert again.status_code == 400
    assert again["Content-Type"] == "application/problem+json"
    assert again["Idempotent-Replayed"] == "true"
    assert idempotent_urls.RUNS == {"invalid": 1}


def test_a_response_over_the_bound_acts_once_and_its_repeat_says_it_was_not_kept() -> None:
    with override_settings(COMMON_UTILS=_common_utils(IDEMPOTENCY_MAX_RESPONSE_BYTES=1000)):
        kept = _post("/big/?size=1000", key="small")
        kept_again = _post("/big/?size=1000", key="small")
        first = _post("/big/?size=1001", key="large")
        again = _post("/big/?size=1001", key="large")

    assert kept_again.content == kept.content == b"x" * 1000
    assert first.status_code == 201
    assert len(first.content) == 1001
    assert again.status_code == 409
    problem = again.json()
    assert problem["type"] == "https://commons.invalid/problems/idempotent_response_not_kept"
    assert "status 201" in problem["detail"]
    assert "over the bytes kept (1001)" in problem["detail"]
    assert idempotent_urls.RUNS == {"big": 2}
    assert Order.objects.using("orders").count() == 2


def test_a_streamed_response_acts_once_and_is_not_replayed() -> None:
    first = _post("/streamed/")
    again = _post("/streamed/")

    assert b"".join(first.streaming_content) == b"onetwo"
    assert again.status_code == 409
    assert again.json()["type"].endswith("/idempotent_response_not_kept")
    assert "streamed" in again.json()["detail"]
    assert idempotent_urls.RUNS == {"streamed": 1}


def test_an_expired_key_acts_again_and_the_purge_deletes_expired_records() -> None:
    _post("/orders/", key="old")
    _post("/orders/", key="fresh")
    IdempotencyRecord.objects.using("orders").filter(key="old").update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    again = _post("/orders/", key="old")
    assert "Idempotent-Replayed" not in again
    assert idempotent_urls.RUNS == {"place": 3}

    IdempotencyRecord.objects.using("orders").filter(key="fresh").update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert purge_idempotency_records(using="orders") == {"orders": 1}
    assert list(IdempotencyRecord.objects.using("orders").values_list("key", flat=True)) == ["old"]
    out = io.StringIO()
    IdempotencyRecord.objects.using("orders").update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    call_command("purge_idempotency_keys", stdout=out)
    assert "orders: 1 expired idempotency records deleted" in out.getvalue()
    assert "default: 0 expired idempotency records deleted" in out.getvalue()
    with pytest.raises(CommandError, match="--database 'nope': not in DATABASES"):
        call_command("purge_idempotency_keys", "--database", "nope")


def test_the_caller_can_come_from_a_setting() -> None:
    caller = "cu_testproject.idempotent_urls:tenant_caller"
    with override_settings(COMMON_UTILS=_common_utils(IDEMPOTENCY_CALLER=caller)):
        _post("/orders/", user="alice", extra_headers={"X-Tenant": "acme"})
        again = _post("/orders/", user="bob", extra_headers={"X-Tenant": "acme"})

    assert again["Idempotent-Replayed"] == "true"
    assert IdempotencyRecord.objects.using("orders").get().caller == "tenant:acme"


def _post_in_thread(path: str, answers: list[Any]) -> threading.Thread:
    def run() -> None:
        try:
            answers.append(_post(path))
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@contextmanager
def _sqlite_options(**options: Any) -> Iterator[None]:
    """New connections to ``orders`` with these OPTIONS, when it is SQLite."""
    given = connections.settings["orders"].setdefault("OPTIONS", {})
    sqlite = connections["orders"].vendor == "sqlite"
    if sqlite:
        given.update(options)
        connections["orders"].close()
    try:
        yield
    finally:
        if sqlite:
            for name in options:
                given.pop(name, None)
            connections["orders"].close()


@pytest.fixture
def immediate_sqlite() -> Iterator[None]:
    """SQLite transactions that take the write lock at BEGIN (the README's advice with a relay)."""
    with _sqlite_options(transaction_mode="IMMEDIATE"):
        yield


@pytest.mark.usefixtures("immediate_sqlite")
def test_a_duplicate_in_flight_waits_for_the_first_and_gets_its_answer() -> None:
    first: list[Any] = []
    second: list[Any] = []
    one = _post_in_thread("/slow/", first)
    assert idempotent_urls.GATE.entered.wait(timeout=30)
    two = _post_in_thread("/slow/", second)
    two.join(timeout=0.5)
    assert two.is_alive(), "the duplicate did not wait for the request in flight"

    idempotent_urls.GATE.opened.set()
    one.join(timeout=30)
    two.join(timeout=30)

    assert first[0].status_code == second[0].status_code == 201
    assert second[0].content == first[0].content
    assert second[0]["Idempotent-Replayed"] == "true"
    assert idempotent_urls.RUNS == {"slow": 1}
    assert Order.objects.using("orders").count() == 1


def test_a_duplicate_waiting_longer_than_the_lock_wait_is_a_409() -> None:
    # PostgreSQL: IDEMPOTENCY_WAIT; SQLite: the connection's lock timeout.
    first: list[Any] = []
    with (
        override_settings(COMMON_UTILS=_common_utils(IDEMPOTENCY_WAIT=0.2)),
        _sqlite_options(timeout=0.2),
    ):
        one = _post_in_thread("/slow/", first)
        assert idempotent_urls.GATE.entered.wait(timeout=30)
        conflict = _post("/slow/")
        idempotent_urls.GATE.opened.set()
        one.join(timeout=30)
        replayed = _post("/slow/")

    assert conflict.status_code == 409
    assert conflict["Retry-After"] == "1"
    assert conflict.json()["type"].endswith("/idempotency_key_in_use")
    assert replayed.content == first[0].content
    assert idempotent_urls.RUNS == {"slow": 1}


def test_the_middleware_placed_before_authentication_fails_the_check() -> None:
    from common_utils.django._checks import check_idempotency_middleware_order

    assert check_idempotency_middleware_order() == []
    wrong = [MIDDLEWARE[0], MIDDLEWARE[2], MIDDLEWARE[1]]
    with override_settings(MIDDLEWARE=wrong):
        (error,) = check_idempotency_middleware_order()
    assert error.id == "common_utils.E011"
    assert "HeaderAuthenticationMiddleware" in error.msg
