"""The events the orders service publishes (through the common-utils outbox)."""

from __future__ import annotations

from datetime import datetime

import pydantic
from common_utils import event_type

EVENT_SOURCE = "/orders"


@event_type("orders.order_placed", version=1)
class OrderPlaced(pydantic.BaseModel):
    """An order was placed (CloudEvents type ``orders.order_placed.v1``, its routing key too)."""

    model_config = pydantic.ConfigDict(frozen=True)

    order_id: int
    owner_id: str
    owner_email: str
    owner_name: str
    product: str
    quantity: int
    placed_at: datetime
