"""Settings of the orders service: everything comes from the environment (see README.md).

`OrdersEnvironment` declares every variable; a bad start names every missing or wrong one at once
(``common_utils.EnvironmentSettingsError``); the users lookup's own variables are checked by the
``orders`` system checks (``orders.E001``-``E002``).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from common_utils import Duration, EnvironmentSettings, Url, Words, json_logging
from common_utils.django import database_from_url
from pydantic import Field, ValidationInfo, field_validator

BASE_DIR = Path(__file__).resolve().parent.parent


class OrdersEnvironment(EnvironmentSettings):
    """Every variable the orders service reads (README, "Environment")."""

    DJANGO_SECRET_KEY: str
    DJANGO_DEBUG: bool = False
    DJANGO_ALLOWED_HOSTS: Words = ("127.0.0.1", "localhost")
    DATABASE_URL: Url
    CELERY_BROKER_URL: Url | None = None
    # The embedded broker's folder, shared with the consumers: required without a broker URL.
    COMMONS_BROKER_DIR: Annotated[str | None, Field(validate_default=True)] = None
    AUTH_ISSUER: Url
    AUTH_AUDIENCE: str = "orders"
    AUTH_JWKS_URL: Url | None = None
    ORDERS_USERS_LOOKUP: Literal["http", "inprocess"] = "http"
    # Checked by orders.E001 (with ORDERS_USERS_LOOKUP=http), not here.
    USERS_URL: str = ""
    # How long one users call (one attempt) may take before it counts as failed.
    USERS_TIMEOUT: Annotated[Duration, Field(gt=timedelta(0), le=timedelta(seconds=300))] = (
        timedelta(seconds=5)
    )
    # How many users answers the lookup keeps in memory, as users' Cache-Control allows (0: none).
    USERS_CACHE_SIZE: Annotated[int, Field(ge=0, le=1_000_000)] = 1024
    LOG_LEVEL: str = "INFO"

    @field_validator("COMMONS_BROKER_DIR")
    @classmethod
    def _broker_dir(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("CELERY_BROKER_URL") is None:
            raise ValueError("required when CELERY_BROKER_URL is not set (the embedded broker)")
        return value


env = OrdersEnvironment.from_environ()

SECRET_KEY = env.DJANGO_SECRET_KEY
DEBUG = env.DJANGO_DEBUG
ALLOWED_HOSTS = env.DJANGO_ALLOWED_HOSTS

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
    # A POST retried with the same Idempotency-Key acts once per caller (the token's subject):
    # after the token middleware, which names the caller.
    "common_utils.django.IdempotencyMiddleware",
]

ROOT_URLCONF = "orders_service.urls"
WSGI_APPLICATION = "orders_service.wsgi.application"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- database: one per service --------------------------------------------------------------------

_database: dict[str, Any] = database_from_url(env.DATABASE_URL)
if _database["ENGINE"] == "django.db.backends.sqlite3":
    # The outbox relay writes beside the service: wait for the lock instead of failing.
    _database["OPTIONS"] = {**_database.get("OPTIONS", {}), "transaction_mode": "IMMEDIATE"}
DATABASES = {"default": _database}
DATABASE_ROUTERS = ["common_utils.django.AppDatabaseRouter"]

# --- events: the Celery broker the outbox relay publishes to --------------------------------------

if env.CELERY_BROKER_URL:
    CELERY_BROKER_URL = env.CELERY_BROKER_URL
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
    CELERY_BROKER_TRANSPORT_OPTIONS = embedded_broker_options(str(env.COMMONS_BROKER_DIR))
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

AUTH_ISSUER = env.AUTH_ISSUER.rstrip("/")
COMMON_AUTH = {
    "ISSUER": AUTH_ISSUER,
    "AUDIENCE": env.AUTH_AUDIENCE,
    "JWKS_URL": env.AUTH_JWKS_URL or f"{AUTH_ISSUER}/.well-known/jwks.json",
}

# --- the users lookup -----------------------------------------------------------------------------

ORDERS_USERS_LOOKUP = env.ORDERS_USERS_LOOKUP
USERS_URL = env.USERS_URL
# Seconds one users call (one attempt) may take before it counts as failed.
USERS_TIMEOUT = env.USERS_TIMEOUT.total_seconds()
USERS_CACHE_SIZE = env.USERS_CACHE_SIZE

# --- the API --------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["common_auth.drf.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Every error as RFC 9457 problem details; JSON bodies bounded in size and depth.
    "EXCEPTION_HANDLER": "common_utils.drf.problem_exception_handler",
    "DEFAULT_PARSER_CLASSES": ["common_utils.drf.BoundedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
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
    # Error answers documented with common_utils.drf.ProblemSerializer are problem+json.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "common_utils.drf.problem_media_type_hook",
    ],
}

# --- logging: one JSON object per line on stderr, each carrying the request id --------------------

LOG_LEVEL = env.LOG_LEVEL.upper()
LOGGING = json_logging(LOG_LEVEL)  # httpx stays at WARNING: it would log every URL
