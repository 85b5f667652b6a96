"""URL patterns for the health views: ``live/`` and ``ready/``."""

from __future__ import annotations

from django.urls import path

from common_utils.django._health import liveness, readiness

app_name = "common_utils_health"
urlpatterns = [
    path("live/", liveness, name="live"),
    path("ready/", readiness, name="ready"),
]
