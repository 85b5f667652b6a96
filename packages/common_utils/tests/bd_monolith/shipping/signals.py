"""Shipping's own signal."""

from django.dispatch import Signal

order_shipped = Signal()  # sent with customer_id
