"""Settings of the test project, built from the environment so a relay subprocess gets the same.

``CU_TEST_DATABASES`` (JSON of a ``DATABASES`` dict) and ``CU_TEST_BROKER_URL`` are set by the
tests' conftest for subprocesses; ``build_settings()`` is what the conftest passes to
``settings.configure()``.
"""

from __future__ import annotations

import json
import os
from typing import Any

DATABASE_APPS = {
    "auth": "default",
    "contenttypes": "default",
    "cu_orders": "orders",
    "cu_reports": "orders",
    "cu_billing": "billing",
}


def build_settings(databases: dict[str, Any]) -> dict[str, Any]:
    """Return the settings of the test project for the given ``DATABASES``."""
    return {
        "DEBUG": False,
        "SECRET_KEY": "common-utils-tests",  # a test project's key, not a secret
        "USE_TZ": True,
        "TIME_ZONE": "UTC",
        "ALLOWED_HOSTS": ["*"],
        "ROOT_URLCONF": "cu_testproject.urls",
        "INSTALLED_APPS": [
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "common_utils.django",
            "cu_testproject.cu_orders",
            "cu_testproject.cu_reports",
            "cu_testproject.cu_billing",
        ],
        "MIDDLEWARE": ["common_utils.django.RequestContextMiddleware"],
        "DATABASES": databases,
        "DATABASE_ROUTERS": ["common_utils.django.AppDatabaseRouter"],
        "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
        "COMMON_UTILS": {
            "DATABASE_APPS": DATABASE_APPS,
            "READ_REPLICAS": {"orders": ["orders_replica"]},
            "CELERY_APP": "cu_testproject.celery_app:app",
            "HEALTH_TIMEOUT": 3.0,
            "OUTBOX_BACKOFF": 0.2,
            "OUTBOX_MAX_BACKOFF": 1.0,
            "OUTBOX_MAX_ATTEMPTS": 1000,
            # On SQLite a killed relay's rows wait for its lease: short, so the tests wait little,
            # and still far above the time one test batch takes to publish. A test that looks
            # inside a lease from another process sets a long one (CU_TEST_CLAIM_TIMEOUT).
            "OUTBOX_CLAIM_TIMEOUT": float(os.environ.get("CU_TEST_CLAIM_TIMEOUT", "10")),
        },
    }


if "CU_TEST_DATABASES" in os.environ:
    globals().update(build_settings(json.loads(os.environ["CU_TEST_DATABASES"])))
