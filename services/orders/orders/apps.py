"""The orders app's configuration: registers the users lookup's checks."""

from __future__ import annotations

from django.apps import AppConfig


class OrdersConfig(AppConfig):
    """The orders app."""

    name = "orders"
    verbose_name = "Orders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the checks."""
        from orders import checks  # noqa: F401 - registers them
