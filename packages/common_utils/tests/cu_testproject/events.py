"""The events of the test project."""

from __future__ import annotations

from typing import TypeVar

import pydantic

from common_utils import Envelope, event_type, new_event


@event_type("cu.orders.order_placed", version=1)
class OrderPlaced(pydantic.BaseModel):
    """An order was placed."""

    order_id: int
    total: int


@event_type("cu.orders.order_paid", version=1)
class OrderPaid(pydantic.BaseModel):
    """An order was paid (or part of it)."""

    order_id: int
    amount: int


OrderDataT = TypeVar("OrderDataT", OrderPlaced, OrderPaid)


def new_order_event(data: OrderDataT) -> Envelope[OrderDataT]:
    """Wrap ``data`` in an envelope from the orders service."""
    return new_event(data, source="/cu/orders", subject=f"order/{data.order_id}")
