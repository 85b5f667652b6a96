"""The Celery app of the notifications service: ``celery -A notifications_service worker``.

The broker comes from the Django settings (``CELERY_*``). The event consumer and its queue are
set up by the ``notifications`` app once Django is ready (``notifications.consumer``). Loading the
app sets the worker's tracing up when the environment asks for it (common-utils'
``configure_tracing``).
"""

import os

from celery import Celery
from common_utils.django import configure_tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notifications_service.settings")

configure_tracing("notifications")
app = Celery("notifications_service")
app.config_from_object("django.conf:settings", namespace="CELERY")
