"""System checks catch database-per-app misconfigurations at start-up."""

from __future__ import annotations

from typing import Any

import pytest
from cu_testproject.settings import DATABASE_APPS
from django.conf import settings
from django.test import override_settings

from common_utils.django._checks import check_database_routing


def _ids(**common_utils: Any) -> list[str]:
    conf = {**settings.COMMON_UTILS, **common_utils}
    with override_settings(COMMON_UTILS=conf):
        return [message.id or "" for message in check_database_routing()]


def _messages(**common_utils: Any) -> list[str]:
    conf = {**settings.COMMON_UTILS, **common_utils}
    with override_settings(COMMON_UTILS=conf):
        return [message.msg for message in check_database_routing()]


def test_the_test_project_is_configured_correctly() -> None:
    assert _ids() == []


def test_an_app_mapped_to_a_missing_alias_is_an_error() -> None:
    messages = _messages(DATABASE_APPS={**DATABASE_APPS, "cu_billing": "invoices"})
    assert any("'cu_billing' is mapped to database 'invoices'" in m for m in messages)
    assert "common_utils.E001" in _ids(DATABASE_APPS={**DATABASE_APPS, "cu_billing": "invoices"})


def test_an_unmapped_app_with_models_is_an_error() -> None:
    mapping = {k: v for k, v in DATABASE_APPS.items() if k != "cu_billing"}
    assert _ids(DATABASE_APPS=mapping) == ["common_utils.E002"]
    assert "'cu_billing' has models" in _messages(DATABASE_APPS=mapping)[0]


def test_auth_and_contenttypes_split_apart_is_an_error() -> None:
    ids = _ids(DATABASE_APPS={**DATABASE_APPS, "auth": "billing"})
    assert "common_utils.E003" in ids


def test_a_relation_across_databases_is_an_error() -> None:
    messages = _messages(DATABASE_APPS={**DATABASE_APPS, "cu_reports": "billing"})
    assert any(
        "cu_reports.OrderReport.order relates to cu_orders.Order" in m and "'orders'" in m
        for m in messages
    )


def test_a_replica_used_as_a_primary_or_missing_is_an_error() -> None:
    assert _ids(READ_REPLICAS={"orders": ["nowhere"]}) == ["common_utils.E005"]
    ids = _ids(DATABASE_APPS={**DATABASE_APPS, "cu_billing": "orders_replica"})
    assert "common_utils.E005" in ids


def test_a_malformed_setting_is_an_error_not_a_crash() -> None:
    with override_settings(COMMON_UTILS={"DATABASE_APPS": ["orders"]}):
        (message,) = check_database_routing()
    assert message.id == "common_utils.E006"
    assert "DATABASE_APPS" in message.msg


def test_a_missing_router_is_a_warning() -> None:
    with override_settings(DATABASE_ROUTERS=[]):
        ids = [m.id for m in check_database_routing()]
    assert ids == ["common_utils.W001"]


@pytest.mark.parametrize("command", ["check"])
def test_manage_py_check_runs_the_checks(command: str) -> None:
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    conf = {**settings.COMMON_UTILS, "DATABASE_APPS": {**DATABASE_APPS, "cu_billing": "nope"}}
    with override_settings(COMMON_UTILS=conf), pytest.raises(SystemCheckError, match="E001"):
        call_command(command)


def test_the_checks_run_as_django_runs_them_at_start_up() -> None:
    """No tags and no database alias, as runserver and the test runner ask: ours are among them."""
    from django.core import checks

    conf = {**settings.COMMON_UTILS, "DATABASE_APPS": {**DATABASE_APPS, "cu_billing": "nope"}}
    with override_settings(COMMON_UTILS=conf):
        ids = [message.id for message in checks.run_checks()]
    assert "common_utils.E001" in ids
