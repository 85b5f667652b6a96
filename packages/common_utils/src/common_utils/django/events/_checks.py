"""System checks that refuse an event setup which would lose events silently.

- ``common_utils.E007`` ``CELERY_BROKER_URL`` is set but ``COMMON_UTILS["CELERY_APP"]`` is not: the
  relay would publish through Celery's default app to ``amqp://localhost``
- ``common_utils.E008`` ``COMMON_UTILS["CELERY_APP"]`` cannot be imported, or is not a Celery app
- ``common_utils.E009`` the Celery app's broker is not ``CELERY_BROKER_URL`` (the app was not
  configured from the settings)
- ``common_utils.E010`` the event consumer binds its queue to another exchange than
  ``COMMON_UTILS["EVENT_EXCHANGE"]``, where this service's relay publishes
- ``common_utils.W002`` the event consumer has no handler: its queue is bound to nothing

Registered by the app config when Celery is installed; the relay refuses the first three itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks

from common_utils._errors import CommonUtilsError, EventConfigError
from common_utils.django._settings import get_settings
from common_utils.django.events._broker import MISSING_APP, resolve_celery_app, verify_broker_url
from common_utils.django.events._consumer import consumer_of


@checks.register()
def check_event_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Check the Celery app and the consumer against ``COMMON_UTILS`` and ``CELERY_BROKER_URL``."""
    try:
        conf = get_settings()
    except CommonUtilsError:
        return []  # common_utils.E006 reports it
    if conf.CELERY_APP is None:
        if getattr(settings, "CELERY_BROKER_URL", None):
            return [
                checks.Error(MISSING_APP, hint="COMMON_UTILS['CELERY_APP']", id="common_utils.E007")
            ]
        return []
    try:
        app = resolve_celery_app(conf.CELERY_APP)
    except CommonUtilsError as exc:
        return [checks.Error(str(exc), id="common_utils.E008")]
    errors: list[checks.CheckMessage] = []
    try:
        verify_broker_url(app)
    except EventConfigError as exc:
        errors.append(checks.Error(str(exc), id="common_utils.E009"))
    consumer = consumer_of(app)
    if consumer is not None:
        if consumer.exchange.name != conf.EVENT_EXCHANGE:
            errors.append(
                checks.Error(
                    f"EventConsumer(queue={consumer.queue_name!r}) binds its queue to exchange "
                    f"{consumer.exchange.name!r}, but COMMON_UTILS['EVENT_EXCHANGE'] is "
                    f"{conf.EVENT_EXCHANGE!r}: events published there never reach the queue",
                    hint="drop EventConsumer(exchange=...) or make both the same",
                    id="common_utils.E010",
                )
            )
        if not consumer.queue.bindings:
            errors.append(
                checks.Warning(
                    f"EventConsumer(queue={consumer.queue_name!r}) has no handler, so its queue "
                    "is bound to no event type and receives nothing",
                    id="common_utils.W002",
                )
            )
    return errors
