"""Liveness and readiness views.

``liveness`` answers 200 while the process can serve a request at all. ``readiness`` checks each
database (``SELECT 1`` on a fresh connection), the Celery broker (a connection) and the event
backlog (``events``: pending, parked and dead-lettered counts and the age of the oldest pending
event, failing past ``COMMON_UTILS["BACKLOG_MAX_*"]``), each with a timeout
(``COMMON_UTILS["HEALTH_TIMEOUT"]``), in parallel, and answers 503 naming what failed::

    {"status": "fail", "checks": {"database:default": {"ok": true, "ms": 1.2},
                                  "broker": {"ok": false, "error": "timed out after 2.0s"}}}

Wire them with ``path("healthz/", include("common_utils.django.health_urls"))``.

From ``begin_draining()`` on, readiness answers 503 (``"status": "draining"``) without running a
check, so a load balancer stops sending work while the process finishes what it has.
``drain_on_signals()`` calls it on SIGTERM (then runs the handler that was there before, e.g. the
server's graceful stop); ``manage.py outbox_relay`` and event consumers' Celery workers do so too.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any

from django.apps import apps
from django.contrib.auth.decorators import login_not_required
from django.db import connections
from django.http import HttpRequest, JsonResponse

from common_utils.django._settings import get_settings


@login_not_required  # probes never sign in, also where LoginRequiredMiddleware guards the rest
def liveness(request: HttpRequest) -> JsonResponse:
    """Answer 200: the process is up and serving."""
    return JsonResponse({"status": "ok"})


_draining = threading.Event()


def begin_draining() -> None:
    """Make readiness answer 503 from now on: the process is stopping (safe in a signal handler)."""
    _draining.set()


def is_draining() -> bool:
    """Whether ``begin_draining()`` was called in this process."""
    return _draining.is_set()


def drain_on_signals(signals: Iterable[signal.Signals] = (signal.SIGTERM,)) -> None:
    """On each of ``signals``, call ``begin_draining()``, then the handler installed before.

    Call it from the main thread once the server has installed its own handlers (in
    ``wsgi.py`` / ``asgi.py`` after ``get_*_application()``); the previous handler still runs,
    so the server's graceful stop is kept. Where there was none (the default action), the
    signal's default action follows.
    """
    for signum in signals:
        previous = signal.getsignal(signum)

        def handler(received: int, frame: FrameType | None, previous: object = previous) -> None:
            begin_draining()
            if callable(previous):
                previous(received, frame)
            elif previous == signal.SIG_DFL:
                signal.signal(received, signal.SIG_DFL)
                signal.raise_signal(received)

        signal.signal(signum, handler)


def _check_database(alias: str) -> None:
    connection = connections[alias]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close()


def _check_events() -> dict[str, Any]:
    from common_utils.django.events._backlog import backlog
    from common_utils.django.events._outbox import outbox_aliases

    try:
        counts = backlog(outbox_aliases())
    finally:
        connections.close_all()  # this thread's own connections: it ends after the check
    details = {
        "pending": counts.pending,
        "parked": counts.parked,
        "dead_letters": counts.dead_letters,
        "oldest_pending_age_s": None
        if counts.oldest_pending_age is None
        else round(counts.oldest_pending_age, 1),
    }
    problems = counts.problems(get_settings())
    if problems:
        raise BacklogError("; ".join(problems), details)
    return details


class BacklogError(Exception):
    """The backlog is past a threshold; carries the counts for the report."""

    def __init__(self, message: str, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.details = details


def _check_broker() -> None:
    from common_utils.django.events import resolve_celery_app

    app = resolve_celery_app()
    timeout = get_settings().HEALTH_TIMEOUT
    with app.connection_for_read(connect_timeout=timeout) as connection:
        connection.ensure_connection(max_retries=1, timeout=max(1, round(timeout)))


def _broker_configured() -> bool:
    try:
        import celery  # noqa: F401
    except ImportError:
        return False
    return True


def _run_with_timeout(check: Callable[[], object], timeout: float) -> dict[str, Any]:
    outcome: dict[str, Any] = {}
    started = time.perf_counter()

    def target() -> None:
        try:
            details = check()
        except BacklogError as exc:
            outcome.update(details=exc.details, error=f"backlog: {exc}")
        except Exception as exc:
            outcome["error"] = f"{type(exc).__name__}: {exc}"
        else:
            if isinstance(details, dict):
                outcome["details"] = details

    # A daemon thread, so a check hung in a driver cannot hold the process at exit.
    thread = threading.Thread(target=target, daemon=True, name="common-utils-readiness")
    thread.start()
    thread.join(timeout)
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    if thread.is_alive():
        return {"ok": False, "error": f"timed out after {timeout}s", "ms": elapsed_ms}
    details = outcome.get("details", {})
    if "error" in outcome:
        return {"ok": False, "error": outcome["error"], "ms": elapsed_ms, **details}
    return {"ok": True, "ms": elapsed_ms, **details}


def readiness_report(*, include_broker: bool | None = None) -> dict[str, dict[str, Any]]:
    """Run the readiness checks in parallel and return ``{check name: outcome}``."""
    timeout = get_settings().HEALTH_TIMEOUT
    checks: dict[str, Callable[[], object]] = {
        f"database:{alias}": (lambda alias=alias: _check_database(alias))  # type: ignore[misc]
        for alias in connections
    }
    if apps.is_installed("common_utils.django"):  # the outbox and dead-letter tables
        checks["events"] = _check_events
    if include_broker if include_broker is not None else _broker_configured():
        checks["broker"] = _check_broker
    results: dict[str, dict[str, Any]] = {}

    def run(name: str, check: Callable[[], object]) -> None:
        results[name] = _run_with_timeout(check, timeout)

    threads = [threading.Thread(target=run, args=item, daemon=True) for item in checks.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return dict(sorted(results.items()))


@login_not_required
def readiness(request: HttpRequest) -> JsonResponse:
    """Answer 200 when every database and the broker answer in time, else 503 naming failures.

    Once the process is draining (``begin_draining()``), 503 at once, running no check.
    """
    if _draining.is_set():
        return JsonResponse(
            {
                "status": "draining",
                "checks": {
                    "process": {"ok": False, "error": "stopping: no new work, finishing the rest"}
                },
            },
            status=503,
        )
    report = readiness_report()
    ok = all(outcome["ok"] for outcome in report.values())
    return JsonResponse(
        {"status": "ok" if ok else "fail", "checks": report}, status=200 if ok else 503
    )
