"""Settings of the notifications service, read from the environment (see README "Environment").

Nothing secret lives here: ``DJANGO_SECRET_KEY`` and ``DATABASE_URL`` are required variables, a
missing one stops the process with an error naming it.
"""

import os
from typing import Any

from common_utils import json_logging
from common_utils.django import database_from_url
from common_utils.django.events import (
    EMBEDDED_BROKER_URL,
    FILESYSTEM_TRANSPORT,
    embedded_broker_options,
)
from django.core.exceptions import ImproperlyConfigured


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(f"the environment variable {name} is required")
    return value


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


SECRET_KEY = _required("DJANGO_SECRET_KEY")
DEBUG = _flag("DJANGO_DEBUG")
ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
    if host.strip()
]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "drf_spectacular",
    "common_utils.django",
    "common_auth.django",
    "notifications",
]
MIDDLEWARE = [
    "common_utils.django.RequestContextMiddleware",
    "common_auth.django.TokenAuthenticationMiddleware",
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "notifications_service.urls"
WSGI_APPLICATION = "notifications_service.wsgi.application"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- the database: one per service ---------------------------------------------------------------

_database: dict[str, Any] = database_from_url(_required("DATABASE_URL"))
if _database["ENGINE"] == "django.db.backends.sqlite3":
    # A transaction that reads before it writes waits for the lock instead of failing.
    _database.setdefault("OPTIONS", {})["transaction_mode"] = "IMMEDIATE"
DATABASES = {"default": _database}
DATABASE_ROUTERS = ["common_utils.django.AppDatabaseRouter"]
COMMON_UTILS = {
    "DATABASE_APPS": {
        "auth": "default",
        "contenttypes": "default",
        "common_utils": "default",
        "notifications": "default",
    },
    "CELERY_APP": "notifications_service.celery:app",
    "EVENT_EXCHANGE": "commons.events",
}

# --- auth: tokens issued by the users service ----------------------------------------------------

AUTH_ISSUER = _required("AUTH_ISSUER").rstrip("/")
COMMON_AUTH = {
    "ISSUER": AUTH_ISSUER,
    "AUDIENCE": os.environ.get("AUTH_AUDIENCE") or "notifications",
    "JWKS_URL": os.environ.get("AUTH_JWKS_URL") or f"{AUTH_ISSUER}/.well-known/jwks.json",
}

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["common_auth.drf.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Notifications",
    "DESCRIPTION": "The notifications recorded for each user when their orders are placed.",
    "VERSION": "1.0.0",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- events: the broker --------------------------------------------------------------------------

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "").strip()
if CELERY_BROKER_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {}
else:
    # No broker server: the embedded one, in a folder shared with the services that publish.
    CELERY_BROKER_URL = EMBEDDED_BROKER_URL
    CELERY_BROKER_TRANSPORT = FILESYSTEM_TRANSPORT
    CELERY_BROKER_TRANSPORT_OPTIONS = embedded_broker_options(_required("COMMONS_BROKER_DIR"))
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 5
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
NOTIFICATIONS_QUEUE = "notifications.events"
"""The worker's queue, bound to ``commons.events`` for the event types it handles."""

# --- logging: one JSON object per line on stderr, with the request id ----------------------------

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
LOGGING = json_logging(
    LOG_LEVEL,
    loggers={
        # Django's own request logger repeats what the service logs, with less.
        "django.server": "WARNING",
        # Celery's "succeeded" line carries the event's data (emails): "notification recorded"
        # says what a person needs, with ids only. Failures still come through at WARNING+.
        "celery.app.trace": "WARNING",
        "celery.worker.strategy": "WARNING",  # "received": the same, with the data
    },
)
