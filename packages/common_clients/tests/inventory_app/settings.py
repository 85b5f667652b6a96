"""Django settings of the inventory test service (SQLite in a file named by the environment)."""

import os

SECRET_KEY = "inventory-test-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "inventory_app.urls"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "drf_spectacular",
    "inventory_app",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("INVENTORY_DB", ":memory:"),
    }
}
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["inventory_app.auth.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 2,
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Inventory",
    "DESCRIPTION": "Products and their stock.",
    "VERSION": "1.0.0",
    "COMPONENT_SPLIT_REQUEST": True,
}

if os.environ.get("INVENTORY_PROBLEMS") == "1":
    # The Commons services' error shape: RFC 9457 problem details from common-utils.
    REST_FRAMEWORK["EXCEPTION_HANDLER"] = "common_utils.drf.problem_exception_handler"
