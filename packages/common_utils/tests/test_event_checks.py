"""Event misconfiguration is refused at start, by a system check and by the relay itself."""

from __future__ import annotations

from typing import Any

import cu_testproject.consumer  # noqa: F401 - the consumer the checks look at
import pytest
from cu_testproject.cu_orders.models import Order
from cu_testproject.events import OrderPlaced, new_order_event
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError
from django.test import override_settings

from common_utils import EventConfigError
from common_utils.django import atomic_for, publish
from common_utils.django.events import OutboxRelay
from common_utils.django.events._checks import check_event_settings
from common_utils.django.models import OutboxMessage

ALL = ["default", "orders", "billing", "orders_replica"]
ELSEWHERE = "amqp://svc:s3cret@broker.internal:5672//"


def _conf(**common_utils: Any) -> dict[str, Any]:
    return {**settings.COMMON_UTILS, **common_utils}


def _without_app() -> dict[str, Any]:
    return {k: v for k, v in settings.COMMON_UTILS.items() if k != "CELERY_APP"}


def _ids() -> list[str]:
    return [message.id or "" for message in check_event_settings()]


def test_the_test_project_passes() -> None:
    assert _ids() == []


def test_a_broker_url_without_a_celery_app_is_refused_by_the_check() -> None:
    with override_settings(COMMON_UTILS=_without_app(), CELERY_BROKER_URL=ELSEWHERE):
        (error,) = check_event_settings()
        with pytest.raises(SystemCheckError, match=r"common_utils\.E007"):
            call_command("check")
    assert error.id == "common_utils.E007"
    assert "COMMON_UTILS['CELERY_APP'] is not set" in error.msg
    assert "amqp://guest@localhost//" in error.msg


@pytest.mark.django_db(databases=ALL, transaction=True)
def test_the_relay_refuses_to_start_without_a_celery_app_and_sends_nothing() -> None:
    with atomic_for(Order):
        order = Order.objects.create(total=1)
        publish(new_order_event(OrderPlaced(order_id=order.pk, total=1)))
    with override_settings(COMMON_UTILS=_without_app(), CELERY_BROKER_URL=ELSEWHERE):
        with pytest.raises(EventConfigError, match=r"COMMON_UTILS\['CELERY_APP'\] is not set"):
            OutboxRelay()
        with pytest.raises(CommandError, match="the outbox relay refused to start"):
            call_command("outbox_relay", "--until-empty")
    assert OutboxMessage.objects.using("orders").filter(sent_at__isnull=True).count() == 1


def test_a_celery_app_that_cannot_be_imported_is_an_error() -> None:
    with override_settings(COMMON_UTILS=_conf(CELERY_APP="cu_testproject.nowhere:app")):
        (error,) = check_event_settings()
    assert error.id == "common_utils.E008"
    assert "COMMON_UTILS['CELERY_APP'] 'cu_testproject.nowhere:app'" in error.msg


def test_an_app_on_another_broker_than_the_setting_is_refused_without_showing_secrets() -> None:
    from cu_testproject.celery_app import app

    with override_settings(CELERY_BROKER_URL=ELSEWHERE):
        (error,) = check_event_settings()
        with pytest.raises(EventConfigError, match="CELERY_BROKER_URL is") as refused:
            OutboxRelay(app)
    assert error.id == "common_utils.E009"
    assert "config_from_object" in error.msg
    for text in (error.msg, str(refused.value)):
        assert "s3cret" not in text
        assert "broker.internal" in text


def test_a_consumer_bound_to_another_exchange_than_the_relays_is_an_error() -> None:
    with override_settings(COMMON_UTILS=_conf(EVENT_EXCHANGE="other.events")):
        ids_and_messages = [(m.id, m.msg) for m in check_event_settings()]
    ((check_id, message),) = ids_and_messages
    assert check_id == "common_utils.E010"
    assert "COMMON_UTILS['EVENT_EXCHANGE'] is 'other.events'" in message
    assert "'cu.billing.events'" in message
