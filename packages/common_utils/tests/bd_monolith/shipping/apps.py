"""The shipping app: connects its receivers when ready."""

from django.apps import AppConfig


class ShippingConfig(AppConfig):
    """Shipping."""

    name = "bd_monolith.shipping"
    label = "shipping"

    def ready(self) -> None:
        """Connect the receivers."""
        from bd_monolith.shipping import receivers  # noqa: F401
