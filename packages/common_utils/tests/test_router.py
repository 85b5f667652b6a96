"""The router: reads, writes, migrations and relations go where COMMON_UTILS says."""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from cu_testproject.cu_billing.models import Invoice
from cu_testproject.cu_orders.models import Customer, Order
from cu_testproject.cu_reports.models import OrderReport
from django.db import connections, transaction
from django.test import override_settings

from common_utils import DatabaseConfigError
from common_utils.django import (
    AppDatabaseRouter,
    atomic_for,
    database_for,
    on_commit_for,
    pinned_databases,
    pinning_scope,
)

ALL = ["default", "orders", "billing", "orders_replica"]


def _table_exists(alias: str, table: str) -> bool:
    with connections[alias].cursor() as cursor:
        return table in connections[alias].introspection.table_names(cursor)


@pytest.mark.django_db(databases=ALL)
def test_writes_land_in_the_apps_own_database() -> None:
    order = Order.objects.create(total=5)
    invoice = Invoice.objects.create(order_id=order.pk, event_id="e")
    assert order._state.db == "orders"
    assert invoice._state.db == "billing"
    assert Order.objects.using("orders").filter(pk=order.pk).exists()
    assert Invoice.objects.using("billing").filter(pk=invoice.pk).exists()


@pytest.mark.django_db(databases=ALL)
def test_migrations_create_each_apps_tables_only_in_its_database() -> None:
    assert _table_exists("orders", "cu_orders_order")
    assert _table_exists("orders", "cu_reports_orderreport")
    assert not _table_exists("billing", "cu_orders_order")
    assert _table_exists("billing", "cu_billing_invoice")
    assert not _table_exists("orders", "cu_billing_invoice")
    assert not _table_exists("default", "cu_orders_order")
    assert _table_exists("default", "auth_user")
    assert not _table_exists("orders", "auth_user")
    for alias in ("default", "orders", "billing"):
        assert _table_exists(alias, "common_utils_outbox"), alias
        assert _table_exists(alias, "common_utils_processed_event"), alias


def test_allow_migrate_refuses_replicas_and_foreign_databases() -> None:
    router = AppDatabaseRouter()
    assert router.allow_migrate("orders", "cu_orders") is True
    assert router.allow_migrate("billing", "cu_orders") is False
    assert router.allow_migrate("orders_replica", "cu_orders") is False
    assert router.allow_migrate("billing", "common_utils") is True
    assert router.allow_migrate("orders_replica", "common_utils") is False
    assert router.allow_migrate("default", "unmapped_app") is None


@pytest.mark.django_db(databases=ALL)
def test_relations_across_databases_are_refused() -> None:
    customer = Customer.objects.create(name="ada")
    order = Order.objects.create(customer=customer)
    OrderReport.objects.create(order=order)  # same database: allowed
    invoice = Invoice.objects.create(order_id=order.pk, event_id="e")
    router = AppDatabaseRouter()
    assert router.allow_relation(order, customer) is True
    assert router.allow_relation(order, invoice) is False
    stray = Customer(name="stray")
    stray._state.db = "billing"  # as if it had been loaded from another database
    with pytest.raises(ValueError, match="router prevents this relation"):
        order.customer = stray


@pytest.mark.django_db(databases=ALL)
def test_reads_go_to_the_replica_until_a_write_pins_them_to_the_primary() -> None:
    router = AppDatabaseRouter()
    before = pinned_databases()
    with pinning_scope():
        assert router.db_for_read(Order) == "orders_replica"
        assert router.db_for_read(Invoice) == "billing"
        Order.objects.create(total=1)
        assert pinned_databases() == {"orders"}
        assert router.db_for_read(Order) == "orders"
    assert pinned_databases() == before


def test_pins_do_not_leak_between_concurrent_requests() -> None:
    import asyncio

    router = AppDatabaseRouter()

    async def request(writes: bool) -> str | None:
        with pinning_scope():
            if writes:
                router.db_for_write(Order)
            await asyncio.sleep(0.01)
            return router.db_for_read(Order)

    async def both() -> list[str | None]:
        return list(await asyncio.gather(request(True), request(False)))

    assert asyncio.run(both()) == ["orders", "orders_replica"]


def _invoice_then_fail() -> None:
    with atomic_for("cu_billing"):
        Invoice.objects.create(order_id=1, event_id="rolled-back")
        raise RuntimeError


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_atomic_for_opens_the_transaction_on_the_models_database() -> None:
    with atomic_for(Order):
        assert connections["orders"].in_atomic_block
        assert not connections["billing"].in_atomic_block
        assert not connections["default"].in_atomic_block
    with pytest.raises(RuntimeError):
        _invoice_then_fail()
    assert not Invoice.objects.filter(event_id="rolled-back").exists()


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_on_commit_for_runs_after_the_models_database_commits() -> None:
    ran: list[str] = []
    with transaction.atomic(using="orders"):
        on_commit_for(Order, lambda: ran.append("orders"))
        assert ran == []
    assert ran == ["orders"]


def test_database_for_refuses_an_unmapped_app_label() -> None:
    assert database_for("cu_orders") == "orders"
    assert database_for(Invoice) == "billing"
    with pytest.raises(DatabaseConfigError, match="'nowhere' is not mapped"):
        database_for("nowhere")


def test_an_invalid_setting_is_a_typed_error() -> None:
    with (
        override_settings(COMMON_UTILS={"DATABASE_APPS": "orders"}),
        pytest.raises(DatabaseConfigError, match="COMMON_UTILS\\['DATABASE_APPS'\\]"),
    ):
        database_for("cu_orders")


def test_migrate_all_migrates_every_primary_and_skips_replicas(tmp_path: Path) -> None:
    """``migrate`` touches one database per run; ``manage.py migrate_all`` covers them all."""
    from conftest import _filesystem_broker, run_python, sqlite_databases, subprocess_env

    env = subprocess_env(_filesystem_broker("migrate-all"))
    env["CU_TEST_DATABASES"] = json.dumps(sqlite_databases(tmp_path), default=str)
    out = run_python(env, "-m", "django", "migrate_all", "--no-input")
    migrated = re.findall(r"Migrating database '(\w+)'", out)
    assert migrated == ["default", "orders", "billing"]  # orders_replica follows orders

    def tables(alias: str) -> set[str]:
        with closing(sqlite3.connect(tmp_path / f"{alias}.sqlite3")) as db:
            return {row[0] for row in db.execute("SELECT name FROM sqlite_master")}

    for alias in ("default", "orders", "billing"):
        assert "common_utils_outbox" in tables(alias), alias
        assert "common_utils_processed_event" in tables(alias), alias
    assert {"auth_user", "django_content_type"} <= tables("default")
    assert not {"auth_user", "django_content_type"} & (tables("orders") | tables("billing"))
