"""Tasks of the test project."""

from __future__ import annotations

import logging

from cu_testproject.celery_app import app

logger = logging.getLogger("cu_testproject.tasks")


@app.task(name="cu_testproject.log_request_id")
def log_request_id(message: str) -> None:
    """Log ``message``; the record should carry the request id of the caller."""
    logger.warning(message)
