"""The Prometheus scrape endpoint (``/healthz/metrics/``, the ``metrics`` extra).

The figures are OpenTelemetry's: the event backlog's observable gauges and the event counters
(see ``events._backlog`` and ``events._tracing``), turned into the Prometheus text format by
OpenTelemetry's ``PrometheusMetricReader``.

- A service that set an OpenTelemetry ``MeterProvider`` with a ``PrometheusMetricReader()`` gets
  everything that provider measures (Commons' counters and backlog, its clients', its own, the
  process collectors of prometheus-client): the reader registers itself in prometheus-client's
  default registry, which this view serves.
- Otherwise the view serves the backlog on its own, from a meter provider it keeps for this
  purpose, as it did before OpenTelemetry: one gauge per measure, labelled by database alias only,
  so the label set is as small as ``DATABASES``:

  - ``commons_outbox_pending_events{database}``: outbox rows not yet published
  - ``commons_outbox_parked_events{database}``: rows parked after ``OUTBOX_MAX_ATTEMPTS``
  - ``commons_outbox_oldest_pending_age_seconds{database}``: age of the oldest pending row (0 if
    none)
  - ``commons_dead_letters{database}``: dead letters not yet replayed
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator

from django.http import HttpRequest, HttpResponse
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from common_utils.__about__ import __version__

# The family that tells whether the served registry already has the backlog from the service's
# own provider (whose reader then serves the rest too).
BACKLOG_FAMILY = "commons_outbox_pending_events"

_own_lock = threading.Lock()
_own: list[CollectorRegistry] = []  # made on the first scrape that needs it


def _own_registry() -> CollectorRegistry:
    """A registry fed by a meter provider of this module's own that observes the backlog only."""
    with _own_lock:
        if not _own:
            from common_utils.django.events._backlog import observe_backlog

            registry = CollectorRegistry(auto_describe=False)
            reader = PrometheusMetricReader(
                disable_target_info=True, scope_info_enabled=False, registry=registry
            )
            provider = MeterProvider(metric_readers=[reader])
            observe_backlog(provider.get_meter("common_utils", __version__))
            _own.append(registry)
        return _own[0]


class _Families(Collector):
    """Already collected metric families, in the shape ``generate_latest`` reads."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterator[Metric]:
        """The families, as collected."""
        return iter(self._families)


def exposition(registry: CollectorRegistry = REGISTRY) -> bytes:
    """The Prometheus text of ``registry``, or of the backlog alone when it does not hold it."""
    families = list(registry.collect())
    if not any(family.name == BACKLOG_FAMILY for family in families):
        families = list(_own_registry().collect())
    return generate_latest(_Families(families))


def metrics(request: HttpRequest) -> HttpResponse:
    """Answer the metrics in the Prometheus text format."""
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
