"""The users service's URLs: its app, health checks and the OpenAPI document."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("", include("users.urls")),
    path("healthz/", include("common_utils.django.health_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
]

# What Django itself refuses (no route, a body over its size limit, a crash) is a problem too.
handler400 = "common_utils.django.problem_bad_request"
handler403 = "common_utils.django.problem_permission_denied"
handler404 = "common_utils.django.problem_not_found"
handler500 = "common_utils.django.problem_server_error"
