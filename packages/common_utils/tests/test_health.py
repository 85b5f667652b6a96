"""Liveness and readiness: readiness checks each database and the broker, with a timeout."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings

ALL = ["default", "orders", "billing", "orders_replica"]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


def test_liveness_answers_ok() -> None:
    response = Client().get("/healthz/live/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_readiness_checks_every_database_and_the_broker() -> None:
    response = Client().get("/healthz/ready/")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == {f"database:{alias}" for alias in ALL} | {"broker", "events"}
    assert all(check["ok"] for check in body["checks"].values())


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_readiness_names_a_refused_broker(celery_app_for: Any) -> None:
    from conftest import Broker

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    celery_app_for(Broker("amqp", f"amqp://guest:guest@127.0.0.1:{closed_port}//"))
    response = Client().get("/healthz/ready/")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "fail"
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["broker"]["error"]
    assert body["checks"]["database:orders"]["ok"] is True


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_readiness_times_out_a_broker_that_never_answers(
    celery_app_for: Any, silent_port: int
) -> None:
    from conftest import Broker

    celery_app_for(Broker("amqp", f"amqp://guest:guest@127.0.0.1:{silent_port}//"))
    with override_settings(COMMON_UTILS={**settings.COMMON_UTILS, "HEALTH_TIMEOUT": 0.5}):
        body = Client().get("/healthz/ready/").json()
    broker = body["checks"]["broker"]
    assert broker["ok"] is False
    assert broker["ms"] < 3000


@contextmanager
def _database_moved(alias: str, **changes: Any) -> Iterator[None]:
    """Point ``alias`` somewhere else for connections opened from now on (each check's own)."""
    from django.db import connections

    settings_dict = connections.settings[alias]
    before = {key: settings_dict.get(key) for key in changes}
    settings_dict.update(changes)
    try:
        yield
    finally:
        settings_dict.update(before)


def _unreachable(tmp_path: Path) -> dict[str, Any]:
    from django.db import connections

    if connections["billing"].vendor == "sqlite":
        return {"NAME": str(tmp_path / "no-such-folder" / "billing.sqlite3")}
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    return {"HOST": "127.0.0.1", "PORT": closed_port}


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_readiness_names_a_database_that_cannot_be_reached(tmp_path: Path) -> None:
    with _database_moved("billing", **_unreachable(tmp_path)):
        response = Client().get("/healthz/ready/")
    body = response.json()
    assert response.status_code == 503, body
    assert body["status"] == "fail"
    assert body["checks"]["database:billing"]["ok"] is False
    assert "OperationalError" in body["checks"]["database:billing"]["error"]
    others = {name: check["ok"] for name, check in body["checks"].items()}
    del others["database:billing"]
    # The backlog is counted in every database's tables, billing's too.
    assert "OperationalError" in body["checks"]["events"]["error"]
    del others["events"]
    assert all(others.values()), body


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_readiness_times_out_a_database_that_never_answers(silent_port: int) -> None:
    from django.db import connections

    if connections["billing"].vendor != "postgresql":
        pytest.skip("COMMONS_TEST_POSTGRES_URL is not set (a SQLite file cannot hang)")
    with (
        override_settings(COMMON_UTILS={**settings.COMMON_UTILS, "HEALTH_TIMEOUT": 0.5}),
        _database_moved("billing", HOST="127.0.0.1", PORT=silent_port),
    ):
        body = Client().get("/healthz/ready/").json()
    billing = body["checks"]["database:billing"]
    assert billing == {"ok": False, "error": "timed out after 0.5s", "ms": billing["ms"]}
    assert billing["ms"] < 3000
    assert body["checks"]["database:orders"]["ok"] is True


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_probes_answer_where_every_other_view_requires_a_login() -> None:
    login_required = {
        "MIDDLEWARE": [
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.auth.middleware.LoginRequiredMiddleware",
            *settings.MIDDLEWARE,
        ],
        "SESSION_ENGINE": "django.contrib.sessions.backends.signed_cookies",
    }
    with override_settings(**login_required):
        client = Client()
        assert client.get("/orders/").status_code == 302  # sent to sign in
        assert client.get("/healthz/live/").status_code == 200
        assert client.get("/healthz/ready/").status_code == 200


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_readiness_shows_the_event_backlog_and_fails_past_its_thresholds() -> None:
    from datetime import timedelta

    from django.utils.timezone import now

    from common_utils.django.models import DeadLetter, OutboxMessage

    old = now() - timedelta(seconds=30)
    for number, parked in ((1, None), (2, None), (3, old)):
        OutboxMessage.objects.using("orders").create(
            event_id=f"e{number}",
            event_type="cu.orders.order_placed.v1",
            payload="{}",
            created_at=old + timedelta(seconds=number),
            next_attempt_at=old,
            parked_at=parked,
        )
    DeadLetter.objects.using("billing").create(
        event_id="d1", queue="q", reason="unreadable", attempts=1, envelope="{}", dead_at=old
    )
    body = Client().get("/healthz/ready/").json()
    events = body["checks"]["events"]
    assert (events["ok"], events["pending"], events["parked"], events["dead_letters"]) == (
        True,
        2,
        1,
        1,
    )
    assert 28 <= events["oldest_pending_age_s"] < 120

    limits = {"BACKLOG_MAX_PENDING_AGE": 10.0, "BACKLOG_MAX_PARKED": 0, "BACKLOG_MAX_PENDING": 2}
    with override_settings(COMMON_UTILS={**settings.COMMON_UTILS, **limits}):
        response = Client().get("/healthz/ready/")
    events = response.json()["checks"]["events"]
    assert response.status_code == 503
    assert events["ok"] is False
    assert "over COMMON_UTILS['BACKLOG_MAX_PENDING_AGE'] = 10.0" in events["error"]
    assert "1 events parked, over COMMON_UTILS['BACKLOG_MAX_PARKED'] = 0" in events["error"]
    assert "BACKLOG_MAX_PENDING'" not in events["error"]  # 2 is not over 2
    assert events["parked"] == 1


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_metrics_show_the_backlog_per_database_for_a_scraper() -> None:
    from datetime import timedelta

    from django.utils.timezone import now
    from prometheus_client.parser import text_string_to_metric_families

    from common_utils.django.models import DeadLetter, OutboxMessage

    old = now() - timedelta(seconds=30)
    for number, parked in ((1, None), (2, old)):
        OutboxMessage.objects.using("orders").create(
            event_id=f"m{number}",
            event_type="cu.orders.order_placed.v1",
            payload="{}",
            created_at=old,
            next_attempt_at=old,
            parked_at=parked,
        )
    for number in range(2):
        DeadLetter.objects.using("billing").create(
            event_id=f"d{number}",
            queue="q",
            reason="unreadable",
            attempts=1,
            envelope="{}",
            dead_at=old,
        )
    response = Client().get("/healthz/metrics/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    samples = {
        (sample.name, sample.labels["database"]): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }
    primaries = ["default", "orders", "billing"]  # replicas hold no outbox of their own
    assert {database for _, database in samples} == set(primaries)
    assert samples["commons_outbox_pending_events", "orders"] == 1
    assert samples["commons_outbox_parked_events", "orders"] == 1
    assert samples["commons_dead_letters", "billing"] == 2
    assert samples["commons_dead_letters", "orders"] == 0
    assert 28 <= samples["commons_outbox_oldest_pending_age_seconds", "orders"] < 120
    assert samples["commons_outbox_oldest_pending_age_seconds", "default"] == 0
