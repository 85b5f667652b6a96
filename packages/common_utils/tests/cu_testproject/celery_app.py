"""The test project's Celery app; its broker comes from ``CU_TEST_BROKER_URL``."""

from __future__ import annotations

import json
import os

from celery import Celery

app = Celery("cu_testproject")
app.conf.update(
    broker_url=os.environ.get("CU_TEST_BROKER_URL", "memory://"),
    broker_transport_options=json.loads(os.environ.get("CU_TEST_BROKER_OPTIONS", "{}")),
    broker_connection_timeout=3,
    task_ignore_result=True,
    worker_hijack_root_logger=False,
)
