"""WSGI entry point: ``gunicorn orders_service.wsgi``.

Tracing is set up first, when the environment asks for it (common-utils' ``configure_tracing``):
before the application is made, since Django reads the middleware OpenTelemetry's Django
instrumentation adds then. The system checks run once here, so a misconfiguration stops the worker
at start with a message naming the setting instead of failing the first request.
"""

from __future__ import annotations

import os

from common_utils.django import configure_tracing
from django.core import checks
from django.core.handlers.wsgi import WSGIHandler
from django.core.management.base import SystemCheckError
from django.core.wsgi import get_wsgi_application

os.environ.setdefault(
    "DJANGO_SETTINGS_MODULE",
    "orders_service.settings",
)

configure_tracing("orders", instrument_django=True)
application: WSGIHandler = get_wsgi_application()

_errors = [m for m in checks.run_checks(include_deployment_checks=False) if m.is_serious()]
if _errors:
    raise SystemCheckError("\n".join(str(message) for message in _errors))
