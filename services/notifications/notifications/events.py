"""The events the notifications service consumes, as this service reads them.

The orders service publishes ``orders.order_placed`` (CloudEvents type
``orders.order_placed.v1``); this is the notifications service's own model of its data, holding
the fields orders documents for the event. Fields added by a newer publisher are ignored.
"""

from __future__ import annotations

import pydantic
from common_utils import event_type


@event_type("orders.order_placed", version=1)
class OrderPlaced(pydantic.BaseModel):
    """An order was placed by a user."""

    model_config = pydantic.ConfigDict(frozen=True, extra="ignore")

    order_id: int
    owner_id: str = pydantic.Field(min_length=1, max_length=200)
    owner_email: str
    owner_name: str
    product: str = pydantic.Field(min_length=1)
    quantity: int = pydantic.Field(ge=1)
    placed_at: pydantic.AwareDatetime
