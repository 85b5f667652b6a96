"""The WSGI entry point: ``gunicorn users_service.wsgi``."""

import os

from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "users_service.settings")

application: WSGIHandler = get_wsgi_application()
