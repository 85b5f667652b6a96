"""A request id set at the edge reaches the logs of a Celery task and an outgoing httpx request."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from common_utils import RequestContextLogFilter

ALL = ["default", "orders", "billing", "orders_replica"]
CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def task_records() -> Iterator[list[logging.LogRecord]]:
    """Records the test project's tasks log, stamped by the request-context filter."""
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Collect()
    handler.addFilter(RequestContextLogFilter())
    logger = logging.getLogger("cu_testproject.tasks")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_request_id_reaches_the_task_log_and_the_downstream_service(
    consumer_worker: Any,
    echo_server_url: str,
    task_records: list[logging.LogRecord],
    wait: Any,
) -> None:
    from conftest import _filesystem_broker

    with consumer_worker(_filesystem_broker("flow")):
        response = Client().get(
            "/orders/",
            {"downstream": echo_server_url},
            headers={"X-Request-ID": "edge-123", "traceparent": CALLER},
        )
        assert response.status_code == 200
        wait(lambda: task_records, what="the task's log record")
    assert response["X-Request-ID"] == "edge-123"
    downstream = response.json()["downstream_saw"]
    assert downstream["X-Request-ID"] == "edge-123"
    assert downstream["traceparent"].startswith("00-4bf92f3577b34da6a3ce929d0e0e4736-")
    (record,) = task_records
    assert record.getMessage() == "order placed"
    assert getattr(record, "request_id", None) == "edge-123"
    assert getattr(record, "trace_id", None) == "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_an_unsafe_request_id_is_replaced_and_a_bad_traceparent_dropped(
    echo_server_url: str,
) -> None:
    response = Client().get(
        "/orders/",
        {"downstream": echo_server_url},
        headers={"X-Request-ID": "bad id\twith tab", "traceparent": "00-zz-zz-01"},
    )
    assert response.status_code == 200
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    downstream = response.json()["downstream_saw"]
    assert downstream["X-Request-ID"] == request_id
    assert "zz" not in downstream["traceparent"]


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_a_request_without_an_id_gets_one() -> None:
    response = Client().get("/orders/")
    assert len(response["X-Request-ID"]) == 32


def test_the_middleware_keeps_the_request_id_on_the_async_path() -> None:
    import asyncio

    from django.test import AsyncClient

    async def call() -> Any:
        return await AsyncClient().get("/healthz/live/", headers={"X-Request-ID": "async-1"})

    response = asyncio.run(call())
    assert response.status_code == 200
    assert response["X-Request-ID"] == "async-1"


@pytest.mark.parametrize("status", [400, 404, 503])
def test_an_error_response_is_logged_once_with_the_request_id(status: int) -> None:
    from django.http import HttpResponse
    from django.test import RequestFactory

    from common_utils.django import RequestContextMiddleware

    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Collect()
    handler.addFilter(RequestContextLogFilter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        middleware = RequestContextMiddleware(lambda request: HttpResponse(status=status))
        request = RequestFactory().get("/refused/", headers={"X-Request-ID": "refused-1"})
        response = middleware(request)
    finally:
        logger.removeHandler(handler)
    (record,) = records
    assert record.getMessage().endswith(": /refused/")
    assert getattr(record, "request_id", None) == "refused-1"
    # Marked, so Django's handler (outside the middleware) does not log it again without the id.
    assert response._has_been_logged
