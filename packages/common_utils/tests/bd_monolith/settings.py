"""Settings of the fixture monolith: a plain Django project that added common_utils.django."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import dj_database_url

SECRET_KEY = "bd-monolith-tests"  # a test project's key, not a secret
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "common_utils.django",
    "bd_monolith.accounts",
    "bd_monolith.catalog",
    "bd_monolith.orders",
    "bd_monolith.reviews",
    "bd_monolith.notes",
    "bd_monolith.shipping",
    "bd_monolith.loyalty",
]
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("BD_DATABASE_URL")
        or f"sqlite:///{Path(tempfile.gettempdir()) / 'bd-monolith.sqlite3'}"
    )
}
TEST_RUNNER = "common_utils.django.boundaries.RecordingTestRunner"
