"""The notifications app's configuration: registers the event consumer once Django is ready."""

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """Connects the ``orders.order_placed`` handler to the service's Celery app."""

    name = "notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Import the consumer (its Celery task and queue) and the OpenAPI auth extension."""
        from notifications import consumer  # noqa: F401 - imported for registrations
