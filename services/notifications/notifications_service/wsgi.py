"""WSGI entry point of the notifications service (``gunicorn notifications_service.wsgi``).

Tracing is set up first, when the environment asks for it (``tracing.py``): before the application
is made, since Django reads the middleware OpenTelemetry's Django instrumentation adds then.
"""

import os

from django.core.wsgi import get_wsgi_application

from notifications_service.tracing import configure_tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notifications_service.settings")

configure_tracing(instrument_django=True)
application = get_wsgi_application()
