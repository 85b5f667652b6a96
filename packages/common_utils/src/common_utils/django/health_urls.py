"""URL patterns for the health views: ``live/``, ``ready/`` and, with the ``metrics`` extra,
``metrics/`` (the event backlog in the Prometheus text format)."""

from __future__ import annotations

from django.urls import URLPattern, path

from common_utils.django._health import liveness, readiness

app_name = "common_utils_health"
urlpatterns: list[URLPattern] = [
    path("live/", liveness, name="live"),
    path("ready/", readiness, name="ready"),
]

try:
    from common_utils.django._metrics import metrics
except ImportError:  # prometheus-client is the optional ``metrics`` extra
    pass
else:
    urlpatterns.append(path("metrics/", metrics, name="metrics"))
