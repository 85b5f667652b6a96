"""Settings of the orders service: everything comes from the environment (see README.md).

A missing required variable stops the start with ``ImproperlyConfigured`` naming it; the users
lookup's own variables are checked by the ``orders`` system checks (``orders.E001``-``E002``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from common_utils import json_logging
from common_utils.django import database_from_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(f"environment variable {name} is required and not set")
    return value


def _flag(name: str) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ImproperlyConfigured(f"environment variable {name} must be true or false, got {value!r}")


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
    "orders",
]

MIDDLEWARE = [
    "common_utils.django.RequestContextMiddleware",
    "common_auth.django.TokenAuthenticationMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "orders_service.urls"
WSGI_APPLICATION = "orders_service.wsgi.application"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- database: one per service --------------------------------------------------------------------

_database: dict[str, Any] = database_from_url(_required("DATABASE_URL"))
if _database["ENGINE"] == "django.db.backends.sqlite3":
    # The outbox relay writes beside the service: wait for the lock instead of failing.
    _database["OPTIONS"] = {**_database.get("OPTIONS", {}), "transaction_mode": "IMMEDIATE"}
DATABASES = {"default": _database}
DATABASE_ROUTERS = ["common_utils.django.AppDatabaseRouter"]

# --- events: the Celery broker the outbox relay publishes to --------------------------------------

_broker_url = os.environ.get("CELERY_BROKER_URL", "").strip()
if _broker_url:
    CELERY_BROKER_URL = _broker_url
else:
    # The embedded broker: common-utils' filesystem transport in a folder shared with the
    # consumers of the other services.
    from common_utils.django.events import (
        EMBEDDED_BROKER_URL,
        FILESYSTEM_TRANSPORT,
        embedded_broker_options,
    )

    CELERY_BROKER_URL = EMBEDDED_BROKER_URL
    CELERY_BROKER_TRANSPORT = FILESYSTEM_TRANSPORT
    CELERY_BROKER_TRANSPORT_OPTIONS = embedded_broker_options(_required("COMMONS_BROKER_DIR"))
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]

COMMON_UTILS = {
    "DATABASE_APPS": {
        "auth": "default",
        "contenttypes": "default",
        "common_utils": "default",
        "orders": "default",
    },
    "CELERY_APP": "orders_service.celery:app",
    "EVENT_EXCHANGE": "commons.events",
}

# --- auth: tokens from the users service ----------------------------------------------------------

AUTH_ISSUER = _required("AUTH_ISSUER").rstrip("/")
COMMON_AUTH = {
    "ISSUER": AUTH_ISSUER,
    "AUDIENCE": os.environ.get("AUTH_AUDIENCE", "").strip() or "orders",
    "JWKS_URL": os.environ.get("AUTH_JWKS_URL", "").strip()
    or f"{AUTH_ISSUER}/.well-known/jwks.json",
}

# --- the users lookup -----------------------------------------------------------------------------

ORDERS_USERS_LOOKUP = os.environ.get("ORDERS_USERS_LOOKUP", "").strip() or "http"
if ORDERS_USERS_LOOKUP not in ("http", "inprocess"):
    raise ImproperlyConfigured(
        f"environment variable ORDERS_USERS_LOOKUP must be 'http' or 'inprocess', "
        f"got {ORDERS_USERS_LOOKUP!r}"
    )
USERS_URL = os.environ.get("USERS_URL", "").strip()
# Seconds one users call (one attempt) may take before it counts as failed.
try:
    USERS_TIMEOUT = float(os.environ.get("USERS_TIMEOUT", "").strip() or "5")
except ValueError:
    raise ImproperlyConfigured("environment variable USERS_TIMEOUT must be a number") from None
if not 0 < USERS_TIMEOUT <= 300:
    raise ImproperlyConfigured("environment variable USERS_TIMEOUT must be in (0, 300] seconds")

# --- the API --------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["common_auth.drf.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "orders.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Orders",
    "DESCRIPTION": "Orders placed by users; each placed order is published as orders.order_placed.",
    "VERSION": "1.0.0",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
}

# --- logging: one JSON object per line on stderr, each carrying the request id --------------------

LOG_LEVEL = os.environ.get("LOG_LEVEL", "").strip().upper() or "INFO"
LOGGING = json_logging(LOG_LEVEL)  # httpx stays at WARNING: it would log every URL
