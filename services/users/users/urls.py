"""The users app's routes: the API, the token endpoint and the JWKS document."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from users.tokens import TokenView
from users.views import JWKSView, UserViewSet

router = SimpleRouter()
router.register("api/users", UserViewSet, basename="user")

urlpatterns = [
    path("o/token/", TokenView.as_view(), name="token"),
    path(".well-known/jwks.json", JWKSView.as_view(), name="jwks"),
    path("", include(router.urls)),
]
