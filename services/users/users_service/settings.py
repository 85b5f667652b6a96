"""Settings of the users service (the auth service): everything comes from the environment.

The variables are listed, with their defaults, in the "Environment" table of the README and
declared in `users_service.environment`; a bad start names every missing or wrong one at once.
"""

from __future__ import annotations

from typing import Any

from common_utils import json_logging
from common_utils.django import database_from_url

from users_service.environment import UsersEnvironment

env = UsersEnvironment.from_environ()

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
    "users",
]

MIDDLEWARE = [
    "common_utils.django.RequestContextMiddleware",  # first: every log line has the request id
    "common_auth.django.TokenAuthenticationMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "users_service.urls"
WSGI_APPLICATION = "users_service.wsgi.application"
TEMPLATES: list[dict[str, Any]] = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {},
    }
]

# One database per service: this one holds Django's users and the profiles.
DATABASES = {"default": database_from_url(env.DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {})["transaction_mode"] = "IMMEDIATE"
DATABASE_ROUTERS = ["common_utils.django.AppDatabaseRouter"]
COMMON_UTILS = {
    "DATABASE_APPS": {
        "auth": "default",
        "contenttypes": "default",
        "common_utils": "default",
        "users": "default",
    },
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = False

# --- tokens ---------------------------------------------------------------------------------
AUTH_ISSUER = env.AUTH_ISSUER.rstrip("/")
AUTH_AUDIENCE = env.AUTH_AUDIENCE
# The services tokens are issued for (audience -> the scopes it declares), from USERS_SERVICES.
USERS_SERVICES = env.services
# What a user may get through the password grant: scopes, and the audiences of the services
# the token is for (all of them when the request names none).
USERS_USER_SCOPES = env.user_scopes
USERS_USER_AUDIENCES = env.user_audiences

COMMON_AUTH: dict[str, Any] = {
    "ISSUER": AUTH_ISSUER,
    "AUDIENCE": AUTH_AUDIENCE,
    "SIGNING_KEYS": [env.USERS_SIGNING_KEY],
    "CLIENTS": env.clients(),
    "TOKEN_LIFETIME": env.USERS_TOKEN_LIFETIME.total_seconds(),
}
# The service verifies its own tokens with its own keys, in process. AUTH_JWKS_URL naming
# another document (a key set published elsewhere) makes it fetch that one instead; naming this
# service's own document changes nothing (a request would otherwise wait on a request to itself).
_OWN_JWKS_URL = f"{AUTH_ISSUER}/.well-known/jwks.json"
_JWKS_URL = env.AUTH_JWKS_URL or _OWN_JWKS_URL
if _JWKS_URL != _OWN_JWKS_URL:
    COMMON_AUTH["JWKS_URL"] = _JWKS_URL

# --- the API --------------------------------------------------------------------------------
# Seconds a user's answer (GET /api/users/{id}/) stays fresh in its callers' caches.
USERS_CACHE_MAX_AGE = int(env.USERS_CACHE_MAX_AGE.total_seconds())
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
    "TITLE": "Users",
    "DESCRIPTION": "The users of the Commons services, and the tokens they and the services use.",
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

# --- logs: one JSON object per line on stderr, with the request id --------------------------
LOG_LEVEL = env.LOG_LEVEL.upper()
LOGGING = json_logging(
    LOG_LEVEL,
    loggers={
        # Django's request log: only 5xx (its 4xx lines would repeat what the views answer).
        "django.request": "ERROR",
        "django.server": "WARNING",
    },
)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
