"""URLs of the notifications service: the API, its OpenAPI document and the health checks."""

from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("api/", include("notifications.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("healthz/", include("common_utils.django.health_urls")),
]


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """Answer an unknown path in JSON, like the API's own 404s."""
    return JsonResponse({"detail": "Not found."}, status=404)


def server_error(request: HttpRequest) -> JsonResponse:
    """Answer an unexpected failure in JSON, without its details (they are in the log)."""
    return JsonResponse({"detail": "Internal server error."}, status=500)


handler404 = not_found
handler500 = server_error
