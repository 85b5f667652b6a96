"""URLs of the orders API (under ``api/orders/``)."""

from __future__ import annotations

from django.urls import path

from orders.views import OrderDetail, OrderList

urlpatterns = [
    path("", OrderList.as_view(), name="order-list"),
    path("<int:pk>/", OrderDetail.as_view(), name="order-detail"),
]
