"""The Celery app of the notifications service: ``celery -A notifications_service worker``.

The broker comes from the Django settings (``CELERY_*``). The event consumer and its queue are
set up by the ``notifications`` app once Django is ready (``notifications.consumer``).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notifications_service.settings")

app = Celery("notifications_service")
app.config_from_object("django.conf:settings", namespace="CELERY")
