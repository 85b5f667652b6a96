"""URLs of the inventory test service."""

from rest_framework.routers import DefaultRouter

from inventory_app.views import ProductViewSet

router = DefaultRouter()
router.register("products", ProductViewSet, basename="products")

urlpatterns = router.urls
