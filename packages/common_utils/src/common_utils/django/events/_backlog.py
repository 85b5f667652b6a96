"""The event backlog of a service: what waits in its outbox and what its consumer dead-lettered.

Readiness reads it (``_health``), and so do four OpenTelemetry observable gauges
(``observe_backlog``), one point per database alias at each collection:
``commons.outbox.pending_events``, ``commons.outbox.parked_events``,
``commons.outbox.oldest_pending_age`` (seconds, 0 when nothing is pending) and
``commons.dead_letters`` (not yet replayed).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Count, Min, Q
from django.utils import timezone

from common_utils.django._settings import CommonUtilsSettings

if TYPE_CHECKING:
    from opentelemetry.metrics import CallbackOptions, Meter, Observation

logger = logging.getLogger("common_utils.events")


@dataclass(frozen=True, slots=True)
class Backlog:
    """Counts over the outboxes and dead-letter tables of some databases."""

    pending: int = 0
    parked: int = 0
    dead_letters: int = 0
    oldest_pending_age: float | None = None
    """Seconds since the oldest pending outbox row was written; ``None`` when none is pending."""

    def problems(self, conf: CommonUtilsSettings) -> list[str]:
        """What is past its ``COMMON_UTILS["BACKLOG_MAX_*"]`` threshold, each naming the setting."""
        found = []
        for value, limit, name, what in (
            (self.pending, conf.BACKLOG_MAX_PENDING, "BACKLOG_MAX_PENDING", "events pending"),
            (self.parked, conf.BACKLOG_MAX_PARKED, "BACKLOG_MAX_PARKED", "events parked"),
            (
                self.dead_letters,
                conf.BACKLOG_MAX_DEAD_LETTERS,
                "BACKLOG_MAX_DEAD_LETTERS",
                "dead letters not replayed",
            ),
            (
                self.oldest_pending_age,
                conf.BACKLOG_MAX_PENDING_AGE,
                "BACKLOG_MAX_PENDING_AGE",
                "seconds since the oldest pending event was written",
            ),
        ):
            if limit is not None and value is not None and value > limit:
                found.append(f"{round(value, 1)} {what}, over COMMON_UTILS[{name!r}] = {limit}")
        return found


def backlog(aliases: Iterable[str]) -> Backlog:
    """Count the backlog in the outbox and dead-letter tables of ``aliases``."""
    from common_utils.django.models import DeadLetter, OutboxMessage

    pending = parked = dead = 0
    oldest = None
    unsent = Q(sent_at__isnull=True)
    for alias in aliases:
        row = OutboxMessage.objects.using(alias).aggregate(
            pending=Count("pk", filter=unsent & Q(parked_at__isnull=True)),
            parked=Count("pk", filter=unsent & Q(parked_at__isnull=False)),
            oldest=Min("created_at", filter=unsent & Q(parked_at__isnull=True)),
        )
        pending += row["pending"]
        parked += row["parked"]
        if row["oldest"] is not None and (oldest is None or row["oldest"] < oldest):
            oldest = row["oldest"]
        dead += DeadLetter.objects.using(alias).filter(replayed_at__isnull=True).count()
    age = None if oldest is None else max((timezone.now() - oldest).total_seconds(), 0.0)
    return Backlog(pending=pending, parked=parked, dead_letters=dead, oldest_pending_age=age)


def measure_backlog(aliases: Iterable[str], *, timeout: float) -> dict[str, Backlog] | None:
    """The backlog of each alias, counted in a thread of its own; ``None`` past ``timeout``.

    The thread's own connections are closed when it ends, so a caller inside a request, a
    transaction or a metric reader's thread keeps its connections as they were.
    """
    wanted = list(aliases)
    found: dict[str, Backlog] = {}
    failure: list[BaseException] = []

    def count() -> None:
        from django.db import connections

        try:
            for alias in wanted:
                found[alias] = backlog([alias])
        except Exception as exc:
            failure.append(exc)
        finally:
            connections.close_all()

    # A daemon thread, so a query hung in a driver cannot hold the process at exit.
    thread = threading.Thread(target=count, daemon=True, name="common-utils-backlog")
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        logger.warning("counting the event backlog took longer than %.1f s: not reported", timeout)
        return None
    if failure:
        logger.warning("counting the event backlog failed: %s", failure[0])
        return None
    return found


class _Snapshot:
    """One measurement shared by the four gauges of one collection.

    A reader calls the callbacks in the order the gauges were made: the first measures, the
    others read what it found (measuring again only if that is older than ``max_age``).
    """

    def __init__(self, max_age: float = 5.0) -> None:
        self.max_age = max_age
        self._lock = threading.Lock()
        self._taken = -float("inf")
        self._value: dict[str, Backlog] | None = None

    def get(self, *, fresh: bool) -> dict[str, Backlog]:
        from common_utils.django._settings import get_settings
        from common_utils.django.events._outbox import outbox_aliases

        with self._lock:
            if fresh or time.monotonic() - self._taken > self.max_age:
                timeout = get_settings().HEALTH_TIMEOUT
                self._value = measure_backlog(outbox_aliases(), timeout=timeout)
                self._taken = time.monotonic()
            return self._value or {}


def observe_backlog(meter: Meter) -> None:
    """Register the backlog's observable gauges on ``meter``, labelled by database alias only.

    The callbacks count the backlog when a metric reader collects (a Prometheus scrape, an OTLP
    export interval), in a thread of their own bounded by ``COMMON_UTILS["HEALTH_TIMEOUT"]``.
    """
    from opentelemetry.metrics import Observation

    snapshot = _Snapshot()

    def gauge(
        read: Callable[[Backlog], float], *, fresh: bool
    ) -> Callable[[CallbackOptions], list[Observation]]:
        def observe(options: CallbackOptions) -> list[Observation]:
            # "database", not a dotted name: the label scrapers of /healthz/metrics/ have used.
            return [
                Observation(read(counts), {"database": alias})
                for alias, counts in snapshot.get(fresh=fresh).items()
            ]

        return observe

    for name, unit, description, read in (
        (
            "commons.outbox.pending_events",
            "{event}",
            "Outbox rows not yet published.",
            lambda counts: counts.pending,
        ),
        (
            "commons.outbox.parked_events",
            "{event}",
            "Outbox rows parked after OUTBOX_MAX_ATTEMPTS failed publishes.",
            lambda counts: counts.parked,
        ),
        (
            "commons.outbox.oldest_pending_age",
            "s",
            "Seconds since the oldest pending outbox row was written (0 when none is).",
            lambda counts: counts.oldest_pending_age or 0.0,
        ),
        (
            "commons.dead_letters",
            "{event}",
            "Dead letters not yet replayed.",
            lambda counts: counts.dead_letters,
        ),
    ):
        first = name == "commons.outbox.pending_events"
        meter.create_observable_gauge(
            name, callbacks=[gauge(read, fresh=first)], unit=unit, description=description
        )


_observed_globally = threading.Lock()


def observe_backlog_globally() -> None:
    """Register the backlog's gauges on common_utils' meter of the global provider, once.

    A proxy until the service sets a ``MeterProvider``; nothing is counted before a reader of
    that provider collects.
    """
    if not _observed_globally.acquire(blocking=False):
        return  # already registered in this process
    from common_utils.django.events._tracing import meter

    observe_backlog(meter)
