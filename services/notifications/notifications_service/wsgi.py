"""WSGI entry point of the notifications service (``gunicorn notifications_service.wsgi``).

Tracing is set up first, when the environment asks for it (common-utils' ``configure_tracing``):
before the application is made, since Django reads the middleware OpenTelemetry's Django
instrumentation adds then.
"""

import os

from common_utils.django import configure_tracing
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notifications_service.settings")

configure_tracing("notifications", instrument_django=True)
application = get_wsgi_application()
