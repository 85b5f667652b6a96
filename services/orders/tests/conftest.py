"""The orders service under test, against the real users service running beside it.

The users service (``services/users``) runs under gunicorn on a free port of 127.0.0.1 with its
own SQLite database, the ``orders`` service account and the users ``alice``, ``bob`` and
``carol`` (deactivated once she holds a token). Orders runs in process (Django's test client)
with SQLite in a temporary folder, the embedded broker in another, and the settings read from
the environment set here.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from common_auth import SigningKey
from django.contrib.auth.hashers import PBKDF2PasswordHasher

SERVICES = Path(__file__).resolve().parents[2]
USERS_DIR = SERVICES / "users"
TMP = Path(tempfile.mkdtemp(prefix="orders-tests-"))
PASSWORDS = {"alice": "alice-Pass-9871", "bob": "bob-Pass-9871", "carol": "carol-Pass-9871"}
ORDERS_SECRET = "orders-secret-for-tests"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


USERS_URL = f"http://127.0.0.1:{_free_port()}"
DEAD_URL = f"http://127.0.0.1:{_free_port()}"  # nothing listens there

# A cheap hash (1000 iterations): the users service checks it on each service token request.
_secret_hash = PBKDF2PasswordHasher().encode(ORDERS_SECRET, "orderstestsalt", iterations=1000)
USERS_ENVIRONMENT = {
    "DJANGO_SETTINGS_MODULE": "users_service.settings",
    "DJANGO_SECRET_KEY": "users-for-orders-tests-only",
    "DATABASE_URL": f"sqlite:///{TMP / 'users.sqlite3'}",
    "AUTH_ISSUER": USERS_URL,
    "USERS_SIGNING_KEY": SigningKey.generate("ES256").private_pem(),
    "USERS_SERVICE_ACCOUNTS": json.dumps(
        {"orders": {"secret_hash": _secret_hash, "scopes": ["users:read"], "audiences": ["users"]}}
    ),
    "LOG_LEVEL": "INFO",
}
ORDERS_ENVIRONMENT = {
    "DJANGO_SETTINGS_MODULE": "orders_service.settings",
    "DJANGO_SECRET_KEY": "orders-tests-only",
    "DATABASE_URL": f"sqlite:///{TMP / 'orders.sqlite3'}",
    "AUTH_ISSUER": USERS_URL,
    "COMMONS_BROKER_DIR": str(TMP / "broker"),
    "ORDERS_USERS_LOOKUP": "http",
    "USERS_URL": USERS_URL,
    "USERS_TOKEN_URL": f"{USERS_URL}/o/token/",
    "USERS_CLIENT_ID": "orders",
    "USERS_CLIENT_SECRET": ORDERS_SECRET,
    "USERS_SCOPE": "users:read",
    "USERS_AUDIENCE": "users",
    "LOG_LEVEL": "INFO",
}
for _name in ("CELERY_BROKER_URL", "AUTH_JWKS_URL", "AUTH_AUDIENCE", "USERS_TIMEOUT"):
    os.environ.pop(_name, None)
os.environ.update(ORDERS_ENVIRONMENT)


def _users_manage(*args: str, **env: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=USERS_DIR,
        env={**os.environ, **USERS_ENVIRONMENT, **env},
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.fixture(scope="session")
def users_service() -> Iterator[Path]:
    """The real users service on ``USERS_URL``; yields the file its log goes to."""
    _users_manage("migrate", "--verbosity", "0")
    for username, password in PASSWORDS.items():
        _users_manage(
            "create_user",
            username,
            "--email",
            f"{username}@example.com",
            "--display-name",
            username.title(),
            USERS_NEW_PASSWORD=password,
        )
    log = TMP / "users.log"
    with log.open("wb") as stream:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "users_service.wsgi",
                "--bind",
                USERS_URL.removeprefix("http://"),
                "--workers",
                "1",
            ],
            cwd=USERS_DIR,
            env={**os.environ, **USERS_ENVIRONMENT},
            stdout=stream,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_live(USERS_URL, process, log, "the users service", timeout=30)
        yield log
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def wait_until_live(
    url: str, process: subprocess.Popen[bytes], log: Path, what: str, *, timeout: float
) -> None:
    """Wait until the service at ``url`` answers ``/healthz/live/``; fail with its log if it
    exits or takes longer than ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/healthz/live/", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start:\n{log.read_text()}")
        time.sleep(0.1)


def user_token(username: str, scope: str | None = None) -> str:
    """An access token of ``username`` from the users service (the password grant)."""
    form = {"grant_type": "password", "username": username, "password": PASSWORDS[username]}
    if scope is not None:
        form["scope"] = scope
    response = httpx.post(f"{USERS_URL}/o/token/", data=form, timeout=10)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture(scope="session")
def tokens(users_service: Path) -> dict[str, str]:
    """Tokens of every test user with the default scopes, and alice's read-only one."""
    found = {name: user_token(name) for name in PASSWORDS}
    found["alice-read-only"] = user_token("alice", "orders:read")
    # carol keeps her token and is deactivated after: orders must ask users, not trust it.
    _users_manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import User; "
        "User.objects.filter(username='carol').update(is_active=False)",
    )
    return found


@pytest.fixture(autouse=True)
def _fresh_users_client() -> Iterator[None]:
    """Each test makes its own users client (settings overrides change its URL)."""
    from orders.owners import close_users_client

    close_users_client()
    yield
    close_users_client()


def bearer(token: str) -> dict[str, Any]:
    """Django test client keyword arguments for ``Authorization: Bearer <token>``."""
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def pytest_configure(config: pytest.Config) -> None:
    import django

    django.setup()
