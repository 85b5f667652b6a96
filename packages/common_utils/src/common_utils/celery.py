"""Deprecated: the Celery glue moved to ``common_utils.django.events``; import it from there.

This module re-exports the names it had, and warns once on import. It will be removed in a
future release.
"""

from __future__ import annotations

import warnings

from common_utils.django.events import (
    DELIVER_EVENT_TASK,
    EMBEDDED_BROKER_URL,
    FILESYSTEM_TRANSPORT,
    RELAY_TASK,
    REQUEST_ID_TASK_HEADER,
    TRACEPARENT_TASK_HEADER,
    EventConsumer,
    OutboxRelay,
    RelayStats,
    connect_request_context_signals,
    embedded_broker_options,
    event_exchange,
    register_relay_task,
    resolve_celery_app,
)

__all__ = [
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
    "register_relay_task",
    "resolve_celery_app",
]

warnings.warn(
    "common_utils.celery is deprecated: import from common_utils.django.events instead",
    DeprecationWarning,
    stacklevel=2,
)
