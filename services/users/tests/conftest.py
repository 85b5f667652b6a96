"""The users service under test: its settings read from a test environment, SQLite in a temp
dir, two service accounts (``orders`` reads, ``admin`` also writes) and a user ``alice``."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from common_auth import SigningKey
from django.contrib.auth.hashers import MD5PasswordHasher

ISSUER = "http://users.test"
PASSWORD = "correct horse battery"
SECRETS = {"orders": "orders-secret-for-tests", "admin": "admin-secret-for-tests"}
# MD5 keeps the tests fast; the service itself keeps Django's default hasher.
_hasher = MD5PasswordHasher()
ACCOUNTS = {
    "orders": {"scopes": ["users:read"], "audiences": ["users"]},
    "admin": {"scopes": ["users:read", "users:write"], "audiences": ["users"]},
}
ENVIRONMENT = {
    "DJANGO_SETTINGS_MODULE": "users_service.settings",
    "DJANGO_SECRET_KEY": "users-tests-only",
    "DATABASE_URL": f"sqlite:///{Path(tempfile.mkdtemp(prefix='users-tests-')) / 'db.sqlite3'}",
    "AUTH_ISSUER": ISSUER,
    "USERS_SIGNING_KEY": SigningKey.generate("ES256").private_pem(),
    "USERS_SERVICE_ACCOUNTS": json.dumps(
        {
            name: {"secret_hash": _hasher.encode(SECRETS[name], _hasher.salt()), **account}
            for name, account in ACCOUNTS.items()
        }
    ),
    "LOG_LEVEL": "WARNING",
}
for _name in ("AUTH_JWKS_URL", "AUTH_AUDIENCE", "USERS_USER_SCOPES", "USERS_USER_AUDIENCES"):
    os.environ.pop(_name, None)
os.environ.update(ENVIRONMENT)


def pytest_configure(config: pytest.Config) -> None:
    import django
    from django.conf import settings

    django.setup()
    # The live server (test_user_caching) serves STATIC_URL beside the app; this service has no
    # static files and leaves it unset, which that handler cannot take.
    settings.STATIC_URL = "/static/"
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]


@pytest.fixture
def alice(db: Any) -> Any:
    from users.accounts import create_user

    return create_user(
        username="alice", email="alice@example.com", display_name="Alice A", password=PASSWORD
    )


def problem(response: Any, code: str) -> dict[str, Any]:
    """The RFC 9457 body of an error answer, checked to be of the type of `code`."""
    assert response["Content-Type"] == "application/problem+json", response.content
    body: dict[str, Any] = json.loads(response.content)
    assert body["type"] == f"https://commons.invalid/problems/{code}", body
    assert body["status"] == response.status_code
    return body


def post_form(client: Any, path: str, form: dict[str, str], **headers: str) -> Any:
    """POST `form` urlencoded (Django's test client would send multipart)."""
    return client.post(
        path, urlencode(form), content_type="application/x-www-form-urlencoded", **headers
    )


def _service_token(client: Any, name: str) -> str:
    response = post_form(
        client,
        "/o/token/",
        {"grant_type": "client_credentials", "client_id": name, "client_secret": SECRETS[name]},
    )
    assert response.status_code == 200, response.content
    return str(response.json()["access_token"])


@pytest.fixture
def orders_token(client: Any, db: Any) -> str:
    return _service_token(client, "orders")


@pytest.fixture
def admin_token(client: Any, db: Any) -> str:
    return _service_token(client, "admin")
