"""QueryRecorder in this process: what it keeps, where it says the query came from, pausing."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from django.db import connections, transaction

from common_utils.django.boundaries import QueryRecorder, record_queries

ALL = ["default", "orders", "billing"]
THIS_FILE = Path(__file__).name


@pytest.mark.django_db(databases=ALL)
def test_a_join_and_a_transaction_across_apps_are_kept_with_their_call_site(
    tmp_path: Path,
) -> None:
    from cu_testproject.cu_orders.models import Customer, Order
    from cu_testproject.cu_reports.models import OrderReport

    path = tmp_path / "queries.json"
    with record_queries(path) as recorder:
        ann = Customer.objects.create(name="ann")  # one app, no transaction of the code's own
        order = Order.objects.create(customer=ann, total=3)
        OrderReport.objects.create(order=order)  # alone: it commits by itself in production
        assert list(OrderReport.objects.filter(order__total=3)) != []  # a join of two apps
        with transaction.atomic(using="orders"):
            Order.objects.create(total=1)
            OrderReport.objects.create(order=order)
        with recorder.paused():
            list(OrderReport.objects.filter(order__total=4))  # the same SQL, not counted
    assert connections["orders"].execute_wrappers == []
    document = json.loads(path.read_text())
    assert document["format"] == "commons-boundaries-queries"
    kept = {(q["kind"], tuple(q["tables"]), q["count"]) for q in document["queries"]}
    assert kept == {
        ("query", ("cu_orders_order", "cu_reports_orderreport"), 1),
        ("transaction", ("cu_orders_order", "cu_reports_orderreport"), 1),
    }
    join = next(q for q in document["queries"] if q["kind"] == "query")
    assert len(join["sites"]) == 1
    assert THIS_FILE in join["sites"][0]
    assert join["sites"][0].endswith(
        "in test_a_join_and_a_transaction_across_apps_are_kept_with_their_call_site"
    )
    transaction_entry = next(q for q in document["queries"] if q["kind"] == "transaction")
    assert transaction_entry["sql"].startswith('INSERT INTO "cu_orders_order"')
    assert " then " in transaction_entry["sites"][0]


@pytest.mark.django_db(databases=[*ALL, "orders_replica"], transaction=True)
def test_connections_of_other_threads_are_recorded_too(tmp_path: Path) -> None:
    from cu_testproject.cu_reports.models import OrderReport

    def report_names() -> None:
        try:
            list(OrderReport.objects.filter(order__customer__name="ann"))
        finally:
            connections.close_all()

    path = tmp_path / "queries.json"
    with QueryRecorder(path):
        worker = threading.Thread(target=report_names)
        worker.start()
        worker.join()
    queries = json.loads(path.read_text())["queries"]
    assert [(q["tables"], q["sites"][0].rpartition(" in ")[2]) for q in queries] == [
        (["cu_orders_customer", "cu_orders_order", "cu_reports_orderreport"], "report_names")
    ]


@pytest.mark.django_db(databases=ALL)
def test_a_second_recording_starts_empty_and_instruments_once(tmp_path: Path) -> None:
    from cu_testproject.cu_reports.models import OrderReport

    for run in range(2):
        with record_queries(tmp_path / f"{run}.json"):
            wrappers = connections["orders"].execute_wrappers
            assert len(wrappers) == 1
            list(OrderReport.objects.filter(order__total=run))
        counts = [q["count"] for q in json.loads((tmp_path / f"{run}.json").read_text())["queries"]]
        assert counts == [1]


def test_the_public_surface_is_deliberate() -> None:
    from common_utils.django import boundaries

    assert boundaries.__all__ == [
        "BoundariesError",
        "BoundariesInputError",
        "MissingExtraError",
        "QueryRecorder",
        "RecordingRunnerMixin",
        "RecordingTestRunner",
        "record_queries",
    ]
    for name in boundaries.__all__:
        assert hasattr(boundaries, name), name
