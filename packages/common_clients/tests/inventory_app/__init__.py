"""A small DRF service the generated ``inventory_client`` client is tested against.

Products with page-number pagination, bearer-token authentication, validation errors, 404s and
a stock adjustment that refuses to go below zero (409). ``serve.py`` runs it on 127.0.0.1;
``specs/inventory.yaml`` is what drf-spectacular makes of it (``serve.py --export-schema``).
"""
