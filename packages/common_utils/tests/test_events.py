"""Event envelopes: CloudEvents attributes, typed data, the registry and its errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pydantic
import pytest

from common_utils import (
    EventRegistrationError,
    EventRegistry,
    InvalidEventError,
    UnknownEventTypeError,
    request_context,
)


@pytest.fixture
def registry() -> EventRegistry:
    return EventRegistry()


class Shipped(pydantic.BaseModel):
    parcel: str
    weight_g: int


def test_new_event_has_the_cloudevents_attributes_and_the_request_context(
    registry: EventRegistry,
) -> None:
    registry.register("shop.parcel.shipped", version=2)(Shipped)
    caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    with request_context(request_id="req-9", traceparent=caller) as ctx:
        event = registry.new_event(Shipped(parcel="p1", weight_g=300), source="/shop", subject="p1")
        traceparent = ctx.traceparent  # the current trace's: here the caller's, no span between
    doc = json.loads(event.to_json())
    assert doc["specversion"] == "1.0"
    assert doc["type"] == "shop.parcel.shipped.v2"
    assert doc["source"] == "/shop"
    assert doc["subject"] == "p1"
    assert doc["datacontenttype"] == "application/json"
    assert doc["requestid"] == "req-9"
    assert doc["traceparent"] == traceparent == caller
    assert doc["data"] == {"parcel": "p1", "weight_g": 300}
    assert datetime.fromisoformat(doc["time"]).tzinfo is not None
    assert len(doc["id"]) == 36


def test_a_parsed_event_has_typed_data_and_round_trips(registry: EventRegistry) -> None:
    registry.register("shop.parcel.shipped")(Shipped)
    event = registry.new_event(
        Shipped(parcel="p2", weight_g=1),
        source="/shop",
        id="e-1",
        time=datetime(2026, 1, 2, tzinfo=UTC),
    )
    parsed = registry.parse_event(event.to_json())
    assert isinstance(parsed.data, Shipped)
    assert parsed == event


def test_unregistered_types_are_refused_both_ways(registry: EventRegistry) -> None:
    with pytest.raises(UnknownEventTypeError, match="Shipped is not registered"):
        registry.new_event(Shipped(parcel="x", weight_g=1), source="/s")
    with pytest.raises(UnknownEventTypeError, match=r"'shop\.other\.v1'"):
        registry.parse_event({"type": "shop.other.v1", "id": "1", "source": "/s", "data": {}})


def test_a_type_and_version_belong_to_one_class(registry: EventRegistry) -> None:
    registry.register("shop.parcel.shipped")(Shipped)

    class Other(pydantic.BaseModel):
        pass

    with pytest.raises(EventRegistrationError, match="already registered"):
        registry.register("shop.parcel.shipped")(Other)
    registry.register("shop.parcel.shipped", version=2)(Other)
    assert registry.types() == ["shop.parcel.shipped.v1", "shop.parcel.shipped.v2"]


@pytest.mark.parametrize(("name", "version"), [("Shop Parcel", 1), ("shop.", 1), ("shop", 0)])
def test_bad_names_and_versions_are_refused(
    registry: EventRegistry, name: str, version: int
) -> None:
    with pytest.raises(EventRegistrationError):
        registry.register(name, version=version)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("not json", "not JSON"),
        ("[1]", "JSON object"),
        ({"id": "1"}, "no 'type'"),
        (
            {"type": "shop.parcel.shipped.v1", "id": "1", "source": "/s", "data": {"parcel": "p"}},
            "data.weight_g: Field required",
        ),
        (
            {
                "type": "shop.parcel.shipped.v1",
                "id": "1",
                "source": "/s",
                "specversion": "0.3",
                "data": {"parcel": "p", "weight_g": 1},
            },
            "specversion",
        ),
        (
            {
                "type": "shop.parcel.shipped.v1",
                "id": "1",
                "source": "/s",
                "time": "2026-01-01T00:00:00",
                "data": {"parcel": "p", "weight_g": 1},
            },
            "time",
        ),
    ],
)
def test_invalid_events_name_the_field(registry: EventRegistry, raw: object, message: str) -> None:
    registry.register("shop.parcel.shipped")(Shipped)
    with pytest.raises(InvalidEventError, match=message):
        registry.parse_event(raw)  # type: ignore[arg-type]
