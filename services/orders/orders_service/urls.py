"""URLs of the orders service: the API, its OpenAPI document and the health checks."""

from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path(
        "api/orders/",
        include("orders.urls"),
    ),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("healthz/", include("common_utils.django.health_urls")),
]

# What Django itself refuses (no route, a body over its size limit, a crash) is a problem too.
handler400 = "common_utils.django.problem_bad_request"
handler403 = "common_utils.django.problem_permission_denied"
handler404 = "common_utils.django.problem_not_found"
handler500 = "common_utils.django.problem_server_error"
