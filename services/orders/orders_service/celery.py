"""The Celery app of the orders service: the broker the outbox relay publishes events to.

The service runs no worker of its own; ``manage.py outbox_relay`` publishes through this app to
the ``commons.events`` topic exchange.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orders_service.settings")

app = Celery("orders_service")
app.config_from_object("django.conf:settings", namespace="CELERY")
