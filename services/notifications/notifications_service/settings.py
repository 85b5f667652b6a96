"""Settings of the notifications service, read from the environment (see README "Environment").

Nothing secret lives here: ``DJANGO_SECRET_KEY`` and ``DATABASE_URL`` are required variables;
`NotificationsEnvironment` declares every variable, and a bad start names every missing or wrong
one at once (``common_utils.EnvironmentSettingsError``).
"""

from typing import Annotated, Any

from common_utils import EnvironmentSettings, Url, Words, json_logging
from common_utils.django import database_from_url
from common_utils.django.events import (
    EMBEDDED_BROKER_URL,
    FILESYSTEM_TRANSPORT,
    embedded_broker_options,
)
from pydantic import Field, ValidationInfo, field_validator


class NotificationsEnvironment(EnvironmentSettings):
    """Every variable the notifications service reads (README, "Environment")."""

    DJANGO_SECRET_KEY: str
    DJANGO_DEBUG: bool = False
    DJANGO_ALLOWED_HOSTS: Words = ("127.0.0.1", "localhost")
    DATABASE_URL: Url
    AUTH_ISSUER: Url
    AUTH_AUDIENCE: str = "notifications"
    AUTH_JWKS_URL: Url | None = None
    CELERY_BROKER_URL: Url | None = None
    # The embedded broker's folder, shared with the services that publish: required without a
    # broker URL.
    COMMONS_BROKER_DIR: Annotated[str | None, Field(validate_default=True)] = None
    LOG_LEVEL: str = "INFO"

    @field_validator("COMMONS_BROKER_DIR")
    @classmethod
    def _broker_dir(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("CELERY_BROKER_URL") is None:
            raise ValueError("required when CELERY_BROKER_URL is not set (the embedded broker)")
        return value


env = NotificationsEnvironment.from_environ()

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

_database: dict[str, Any] = database_from_url(env.DATABASE_URL)
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

AUTH_ISSUER = env.AUTH_ISSUER.rstrip("/")
COMMON_AUTH = {
    "ISSUER": AUTH_ISSUER,
    "AUDIENCE": env.AUTH_AUDIENCE,
    "JWKS_URL": env.AUTH_JWKS_URL or f"{AUTH_ISSUER}/.well-known/jwks.json",
}

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["common_auth.drf.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Every error as RFC 9457 problem details; JSON bodies bounded in size and depth.
    "EXCEPTION_HANDLER": "common_utils.drf.problem_exception_handler",
    "DEFAULT_PARSER_CLASSES": ["common_utils.drf.BoundedJSONParser"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Notifications",
    "DESCRIPTION": "The notifications recorded for each user when their orders are placed.",
    "VERSION": "1.0.0",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_INCLUDE_SCHEMA": False,
    # Error answers documented with common_utils.drf.ProblemSerializer are problem+json.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "common_utils.drf.problem_media_type_hook",
    ],
}

# --- events: the broker --------------------------------------------------------------------------

CELERY_BROKER_URL = env.CELERY_BROKER_URL or ""
if CELERY_BROKER_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {}
else:
    # No broker server: the embedded one, in a folder shared with the services that publish.
    CELERY_BROKER_URL = EMBEDDED_BROKER_URL
    CELERY_BROKER_TRANSPORT = FILESYSTEM_TRANSPORT
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **embedded_broker_options(str(env.COMMONS_BROKER_DIR)),
        # Looked at every 50 ms (kombu's default is 1 s), so an event arrives in milliseconds.
        "polling_interval": 0.05,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 5
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
NOTIFICATIONS_QUEUE = "notifications.events"
"""The worker's queue, bound to ``commons.events`` for the event types it handles."""

# --- logging: one JSON object per line on stderr, with the request id ----------------------------

LOG_LEVEL = env.LOG_LEVEL.upper()
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
