"""Events end to end: publish -> outbox -> relay -> broker -> consumer, in one folder.

- ``_outbox``: ``publish()`` writes an event in the business transaction; the relay's database
  side (claiming batches, marking rows sent, backoff, parking). Needs Django only.
- ``_broker``: the Celery app (``resolve_celery_app``), the event exchange, the embedded broker
  (``embedded_broker_options``, ``EMBEDDED_BROKER_URL``, ``FILESYSTEM_TRANSPORT``), the names.
- ``_relay``: ``OutboxRelay`` (``manage.py outbox_relay``) and ``register_relay_task``.
- ``_consumer``: ``EventConsumer``, handlers run once per event id on the consumer's database.
- ``_task_context``: the request context carried in every Celery task's headers.

Everything but ``publish`` needs the ``celery`` extra (``pip install common-utils[celery]``); the
names load on first use (PEP 562), so ``publish`` works without Celery installed.
"""

from typing import TYPE_CHECKING

from common_utils.django.events._outbox import publish

if TYPE_CHECKING:
    from common_utils.django.events._broker import (
        DELIVER_EVENT_TASK,
        DELIVER_EVENTS_TASK,
        EMBEDDED_BROKER_URL,
        FILESYSTEM_TRANSPORT,
        RELAY_TASK,
        REQUEST_ID_TASK_HEADER,
        TRACEPARENT_TASK_HEADER,
        embedded_broker_options,
        event_exchange,
        resolve_celery_app,
    )
    from common_utils.django.events._consumer import EventConsumer
    from common_utils.django.events._relay import OutboxRelay, RelayStats, register_relay_task
    from common_utils.django.events._task_context import connect_request_context_signals

__all__ = [
    "DELIVER_EVENTS_TASK",
    "DELIVER_EVENT_TASK",
    "EMBEDDED_BROKER_URL",
    "FILESYSTEM_TRANSPORT",
    "RELAY_TASK",
    "REQUEST_ID_TASK_HEADER",
    "TRACEPARENT_TASK_HEADER",
    "EventConsumer",
    "OutboxRelay",
    "RelayStats",
    "connect_request_context_signals",
    "embedded_broker_options",
    "event_exchange",
    "publish",
    "register_relay_task",
    "resolve_celery_app",
]

# Name -> the private module that defines it, imported on first access (they need Celery).
_LAZY = {
    "DELIVER_EVENT_TASK": "_broker",
    "DELIVER_EVENTS_TASK": "_broker",
    "EMBEDDED_BROKER_URL": "_broker",
    "FILESYSTEM_TRANSPORT": "_broker",
    "RELAY_TASK": "_broker",
    "REQUEST_ID_TASK_HEADER": "_broker",
    "TRACEPARENT_TASK_HEADER": "_broker",
    "embedded_broker_options": "_broker",
    "event_exchange": "_broker",
    "resolve_celery_app": "_broker",
    "EventConsumer": "_consumer",
    "OutboxRelay": "_relay",
    "RelayStats": "_relay",
    "register_relay_task": "_relay",
    "connect_request_context_signals": "_task_context",
}

# Hidden from type checkers, which would otherwise accept any attribute of this module.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> object:
        module_name = _LAZY.get(name)
        if module_name is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        from importlib import import_module

        value = getattr(import_module(f"{__name__}.{module_name}"), name)
        globals()[name] = value  # later lookups find it without coming here
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__})
