"""The event backlog as Prometheus metrics, computed when scraped (the ``metrics`` extra).

One gauge per measure, labelled by database alias only, so the label set is as small as
``DATABASES`` (never one series per event or per event type):

- ``commons_outbox_pending_events{database}``: outbox rows not yet published
- ``commons_outbox_parked_events{database}``: rows parked after ``OUTBOX_MAX_ATTEMPTS``
- ``commons_outbox_oldest_pending_age_seconds{database}``: age of the oldest pending row (0 if none)
- ``commons_dead_letters{database}``: dead letters not yet replayed
"""

from __future__ import annotations

from collections.abc import Iterator

from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector


class BacklogCollector(Collector):
    """Reads the backlog of every primary database at each scrape."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Yield the four gauges, one sample per database."""
        from common_utils.django.events._backlog import backlog
        from common_utils.django.events._outbox import outbox_aliases

        families = {
            "pending": GaugeMetricFamily(
                "commons_outbox_pending_events",
                "Outbox rows not yet published.",
                labels=["database"],
            ),
            "parked": GaugeMetricFamily(
                "commons_outbox_parked_events",
                "Outbox rows parked after OUTBOX_MAX_ATTEMPTS failed publishes.",
                labels=["database"],
            ),
            "age": GaugeMetricFamily(
                "commons_outbox_oldest_pending_age_seconds",
                "Seconds since the oldest pending outbox row was written (0 when none is).",
                labels=["database"],
            ),
            "dead": GaugeMetricFamily(
                "commons_dead_letters", "Dead letters not yet replayed.", labels=["database"]
            ),
        }
        for alias in outbox_aliases():
            counts = backlog([alias])
            families["pending"].add_metric([alias], counts.pending)
            families["parked"].add_metric([alias], counts.parked)
            families["age"].add_metric([alias], counts.oldest_pending_age or 0.0)
            families["dead"].add_metric([alias], counts.dead_letters)
        yield from families.values()


def metrics(request: HttpRequest) -> HttpResponse:
    """Answer the backlog in the Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BacklogCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
