"""The Django app of common-utils: the outbox and processed-event tables, checks, commands."""

from __future__ import annotations

from django.apps import AppConfig


class CommonUtilsConfig(AppConfig):
    """Registers the system checks, the backlog's OpenTelemetry gauges, and the Celery context
    signals when Celery is installed."""

    name = "common_utils.django"
    label = "common_utils"
    verbose_name = "Commons utilities"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the checks, the backlog's gauges, and connect the request context to Celery."""
        from common_utils.django import _checks  # noqa: F401 - registers the checks
        from common_utils.django.events._backlog import observe_backlog_globally

        observe_backlog_globally()

        try:
            from common_utils.django.events import connect_request_context_signals
        except ImportError:  # Celery is the optional ``celery`` extra.
            return
        from common_utils.django.events import _checks as _event_checks  # noqa: F401 - registers

        connect_request_context_signals()
