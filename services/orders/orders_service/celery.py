"""The Celery app of the orders service: the broker the outbox relay publishes events to.

The service runs no worker of its own; ``manage.py outbox_relay`` publishes through this app to
the ``commons.events`` topic exchange. Loading the app sets the process's tracing up when the
environment asks for it (common-utils' ``configure_tracing``), so the relay's spans are exported
too.
"""

from __future__ import annotations

import os

from celery import Celery
from common_utils.django import configure_tracing

os.environ.setdefault(
    "DJANGO_SETTINGS_MODULE",
    "orders_service.settings",
)

configure_tracing("orders")
app = Celery("orders_service")
app.config_from_object("django.conf:settings", namespace="CELERY")
