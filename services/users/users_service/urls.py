"""The users service's URLs: its app, health checks and the OpenAPI document."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("", include("users.urls")),
    path("healthz/", include("common_utils.django.health_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
]

handler400 = "users_service.errors.bad_request"
handler403 = "users_service.errors.permission_denied"
handler404 = "users_service.errors.not_found"
handler500 = "users_service.errors.server_error"
