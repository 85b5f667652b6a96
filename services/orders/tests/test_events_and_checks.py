"""The relay publishes a placed order to the embedded broker; the checks name missing settings."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client, override_settings
from kombu import Connection, Exchange, Queue

from orders.checks import check_users_lookup
from tests.conftest import bearer

QUEUE = "orders-tests.order-placed"


def _broker() -> Connection:
    return Connection(
        settings.CELERY_BROKER_URL,
        transport=settings.CELERY_BROKER_TRANSPORT,
        transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
    )


@pytest.mark.django_db(transaction=True)
def test_the_relay_publishes_the_placed_order_to_commons_events(
    client: Client, tokens: dict[str, str]
) -> None:
    exchange = Exchange("commons.events", type="topic", durable=True)
    with _broker() as connection:
        # A topic exchange drops what no queue is bound to: bind before the relay publishes.
        Queue(QUEUE, exchange, routing_key="orders.order_placed.*")(
            connection.default_channel
        ).declare()

    placed = client.post(
        "/api/orders/",
        {"product": "saw", "quantity": 4},
        content_type="application/json",
        headers={"X-Request-ID": "relay-1"},
        **bearer(tokens["alice"]),
    )
    assert placed.status_code == 201
    call_command("outbox_relay", "--until-empty", "--poll-interval", "0.05")

    with _broker() as connection:
        channel: Any = connection.default_channel  # kombu's virtual channel has basic_get
        message: Any = channel.basic_get(QUEUE, no_ack=True)
    assert message is not None, "the relay published nothing to the bound queue"
    assert message.delivery_info["routing_key"] == "orders.order_placed.v1"
    (event,), _kwargs, _embed = json.loads(message.body)
    assert event["type"] == "orders.order_placed.v1"
    assert event["requestid"] == "relay-1"
    assert event["data"]["order_id"] == placed.json()["id"]
    assert event["data"]["quantity"] == 4
    assert (event["partitionkey"], event["keysequence"]) == (str(placed.json()["id"]), 1)


def test_the_http_lookup_needs_the_users_url_and_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert check_users_lookup() == []
    monkeypatch.delenv("USERS_CLIENT_SECRET")
    with override_settings(USERS_URL=""):
        errors = {message.id: message.msg for message in check_users_lookup()}
    assert set(errors) == {"orders.E001", "orders.E002"}
    assert "USERS_URL" in errors["orders.E001"]
    assert "USERS_CLIENT_SECRET" in errors["orders.E002"]
    with override_settings(ORDERS_USERS_LOOKUP="inprocess", USERS_URL=""):
        assert check_users_lookup() == []
