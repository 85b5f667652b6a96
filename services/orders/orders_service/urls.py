"""URLs of the orders service: the API, its OpenAPI document and the health checks."""

from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("api/orders/", include("orders.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("healthz/", include("common_utils.django.health_urls")),
]

# JSON for unknown URLs and unexpected errors too, like every API answer.
handler404 = "orders.errors.not_found"
handler500 = "orders.errors.server_error"
