"""The test project's Celery app; its broker comes from ``CU_TEST_BROKER_URL``."""

from __future__ import annotations

import json
import os

from celery import Celery

app = Celery("cu_testproject")
app.conf.update(
    broker_url=os.environ.get("CU_TEST_BROKER_URL", "memory://"),
    broker_transport_options=json.loads(os.environ.get("CU_TEST_BROKER_OPTIONS", "{}")),
    broker_transport=os.environ.get("CU_TEST_BROKER_TRANSPORT") or None,
    broker_connection_timeout=3,
    task_ignore_result=True,
    worker_hijack_root_logger=False,
    # On connection loss, give unacknowledged late-ack tasks back to the broker (Celery 6 default).
    worker_cancel_long_running_tasks_on_connection_loss=True,
    broker_connection_retry_on_startup=True,
)
