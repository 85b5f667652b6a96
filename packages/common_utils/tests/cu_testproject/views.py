"""A view that does what a real edge view does: writes, publishes, calls a task and a service."""

from __future__ import annotations

import json

import httpx
from django.http import HttpRequest, JsonResponse

from common_utils import httpx_request_hook
from common_utils.django import atomic_for, publish
from cu_testproject.cu_orders.models import Order
from cu_testproject.events import OrderPlaced, new_order_event
from cu_testproject.tasks import log_request_id


def place_order(request: HttpRequest) -> JsonResponse:
    """Create an order and its event, run a task, and call the service at ``?downstream=``."""
    with atomic_for(Order):
        order = Order.objects.create(total=int(request.GET.get("total", "10")))
        publish(new_order_event(OrderPlaced(order_id=order.pk, total=order.total)))
    log_request_id.delay("order placed")
    downstream = request.GET.get("downstream")
    seen: dict[str, str] = {}
    if downstream:
        with httpx.Client(event_hooks={"request": [httpx_request_hook]}, timeout=5) as client:
            seen = client.get(downstream).json()
    return JsonResponse({"order": order.pk, "downstream_saw": json.loads(json.dumps(seen))})
