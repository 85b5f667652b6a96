"""The billing consumer's worker as a service runs it: ``celery -A cu_testproject.worker worker``.

Django is set up first (settings from the environment, as for the relay subprocess), then the
consumer is imported so the worker knows its delivery task and consumes its queue.
"""

from __future__ import annotations

import django

django.setup()

from cu_testproject.celery_app import app  # noqa: E402 - after django.setup()
from cu_testproject.consumer import consumer  # noqa: E402

app.conf.task_queues = (consumer.queue,)

__all__ = ["app"]
