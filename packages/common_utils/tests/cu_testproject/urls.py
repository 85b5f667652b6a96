"""URLs of the test project: health views and a view that fans out to a task and an HTTP call."""

from __future__ import annotations

from django.urls import include, path

from cu_testproject.views import place_order

urlpatterns = [
    path("healthz/", include("common_utils.django.health_urls")),
    path("orders/", place_order),
]
