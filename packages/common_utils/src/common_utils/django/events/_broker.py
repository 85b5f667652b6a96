"""The broker side of events: the Celery app, the event exchange, the embedded broker, the names.

Events travel as Celery task messages (task ``DELIVER_EVENT_TASK``) on a durable topic exchange
(``COMMON_UTILS["EVENT_EXCHANGE"]``) whose routing key is the event type. The embedded broker is
kombu's filesystem transport with atomic writes, in one folder every service's processes share.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from celery import Celery
from celery import current_app as celery_current_app
from kombu import Exchange
from kombu.utils.url import maybe_sanitize_url

from common_utils._errors import CommonUtilsError, EventConfigError

DELIVER_EVENT_TASK = "common_utils.deliver_event"
"""The name of the task every event message invokes on a consumer's worker."""
DELIVER_EVENTS_TASK = "common_utils.deliver_events"
"""The task a message of several events invokes (``COMMON_UTILS["EVENT_DELIVERY_BATCH"]``)."""
RELAY_TASK = "common_utils.relay_outbox"
FILESYSTEM_TRANSPORT = "common_utils._filesystem_transport:Transport"
"""``broker_transport`` of the embedded broker: kombu's filesystem transport, atomic writes."""
EMBEDDED_BROKER_URL = "filesystem://"
"""``broker_url`` of the embedded broker (with ``broker_transport=FILESYSTEM_TRANSPORT``)."""
REQUEST_ID_TASK_HEADER = "x_request_id"
TRACEPARENT_TASK_HEADER = "traceparent"


def embedded_broker_options(
    directory: str | os.PathLike[str], *, polling_interval: float = 0.05
) -> dict[str, Any]:
    """Return the ``broker_transport_options`` of the embedded broker kept in ``directory``.

    A worker looks for new messages every ``polling_interval`` seconds (kombu's default is 1 s,
    which an event would wait on top of the relay's own wait).

    Every process that shares ``directory`` (a service's relay, another service's worker) shares
    the broker: messages live in ``directory/messages``, the exchange bindings in
    ``directory/control``. The folders are created if missing. Use it with
    ``broker_url=EMBEDDED_BROKER_URL`` and ``broker_transport=FILESYSTEM_TRANSPORT``; in Django
    settings read by ``config_from_object(..., namespace="CELERY")``::

        CELERY_BROKER_URL = EMBEDDED_BROKER_URL
        CELERY_BROKER_TRANSPORT = FILESYSTEM_TRANSPORT
        CELERY_BROKER_TRANSPORT_OPTIONS = embedded_broker_options(os.environ["COMMONS_BROKER_DIR"])
    """
    root = Path(directory).expanduser().resolve()
    messages, control = root / "messages", root / "control"
    try:
        messages.mkdir(parents=True, exist_ok=True)
        control.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommonUtilsError(
            f"cannot create the embedded broker in {str(root)!r}: {exc}"
        ) from exc
    return {
        # In and out are one folder: what a publisher writes, a consumer reads.
        "data_folder_in": str(messages),
        "data_folder_out": str(messages),
        "control_folder": str(control),
        "store_processed": False,
        "polling_interval": polling_interval,
    }


def resolve_celery_app(path: str | None = None) -> Celery:
    """Return the Celery app named by ``path`` (``"module:attr"`` or ``"module.attr"``).

    Defaults to ``COMMON_UTILS["CELERY_APP"]`` when Django is configured, then to Celery's
    current app.
    """
    import importlib

    if path is None:
        from django.conf import settings

        if settings.configured:
            from common_utils.django._settings import get_settings

            path = get_settings().CELERY_APP
    if path is None:
        return celery_current_app
    module_name, sep, attr = path.partition(":")
    if not sep:
        module_name, _, attr = path.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise CommonUtilsError(
            f"COMMON_UTILS['CELERY_APP'] {path!r} cannot be imported: {exc}"
        ) from None
    if not isinstance(obj, Celery):
        raise CommonUtilsError(f"COMMON_UTILS['CELERY_APP'] {path!r} is not a Celery app")
    return obj


def event_exchange(name: str | None = None) -> Exchange:
    """The durable topic exchange events are published to (``COMMON_UTILS['EVENT_EXCHANGE']``)."""
    if name is None:
        from common_utils.django._settings import get_settings

        name = get_settings().EVENT_EXCHANGE
    return Exchange(name, type="topic", durable=True)


def context_headers(event: Mapping[str, Any]) -> dict[str, str]:
    """The task headers that carry an event's request context to the consumer's worker.

    The task runs in the request context the event was published in, so every log line of the
    worker about it (Celery's own included) carries that request id.
    """
    return {
        header: event[attribute]
        for header, attribute in (
            (REQUEST_ID_TASK_HEADER, "requestid"),
            (TRACEPARENT_TASK_HEADER, "traceparent"),
        )
        if isinstance(event.get(attribute), str)
    }


MISSING_APP = (
    "COMMON_UTILS['CELERY_APP'] is not set: the outbox relay would publish through Celery's "
    "default app, whose broker is amqp://guest@localhost//, not the one this service's settings "
    "name; set it to the 'module:attribute' of the service's Celery app"
)


def configured_celery_app(path: str | None = None) -> Celery:
    """The Celery app events go through, refused when the settings do not describe it.

    ``path`` (``"module:attr"``) defaults to ``COMMON_UTILS["CELERY_APP"]``, which must then be
    set: falling back to Celery's current app would publish to ``amqp://localhost`` when the
    service's app module was never imported. Raises ``EventConfigError`` naming the setting.
    """
    from common_utils.django._settings import get_settings

    path = path or get_settings().CELERY_APP
    if path is None:
        raise EventConfigError(MISSING_APP)
    try:
        app = resolve_celery_app(path)
    except CommonUtilsError as exc:
        raise EventConfigError(str(exc)) from None
    verify_broker_url(app)
    return app


def verify_broker_url(app: Celery) -> None:
    """Raise ``EventConfigError`` when ``CELERY_BROKER_URL`` is set but ``app`` uses another broker.

    That is the app not configured from the Django settings (``config_from_object(
    "django.conf:settings", namespace="CELERY")``): events would go to a broker nobody reads.
    """
    from django.conf import settings

    wanted = getattr(settings, "CELERY_BROKER_URL", None)
    used = app.conf.broker_url
    if wanted and used != wanted:
        raise EventConfigError(
            f"CELERY_BROKER_URL is {maybe_sanitize_url(wanted)!r} but the Celery app "
            f"{app.main!r} uses {maybe_sanitize_url(used or 'amqp://guest@localhost//')!r}: "
            "configure the app from the settings, app.config_from_object("
            "'django.conf:settings', namespace='CELERY')"
        )
