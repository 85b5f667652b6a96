"""The README's complete setup, run as written: ``users`` (the auth service, in its own process)
and ``orders`` (a service that trusts it, in this one)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth.hashers import make_password
from django.core.checks import run_checks
from django.test import Client

from common_auth import SigningKey, SigningKeySet, issue_access_token

SCRIPT = Path(__file__).with_name("readme_setup.py")
_spec = importlib.util.spec_from_file_location("common_auth_readme_setup", SCRIPT)
assert _spec is not None
assert _spec.loader is not None
readme = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(readme)
blocks, install_module, settings_from = readme.blocks, readme.install_module, readme.settings_from

CLIENT_SECRET = "orders-client-secret-for-tests"


@dataclass
class UsersService:
    url: str
    tokens: dict[str, str]  # scopes -> a user token from users.views.access_token_for


@pytest.fixture(scope="module")
def users_service() -> Iterator[UsersService]:
    environment = {
        "USERS_SIGNING_KEY": SigningKey.generate("ES256").private_pem(),
        "USERS_ORDERS_CLIENT_SECRET_HASH": make_password(CLIENT_SECRET),
    }
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ) | environment,
    )
    try:
        assert process.stdout is not None
        tokens: dict[str, str] = {}
        line = process.stdout.readline()
        while line.startswith("TOKEN "):
            _, scopes, token = line.split()
            tokens[scopes] = token
            line = process.stdout.readline()
        if not line.startswith("PORT "):
            process.kill()
            _, errors = process.communicate(timeout=30)
            pytest.fail(f"the README's users service did not start: {line!r} {errors[-3000:]}")
        yield UsersService(url=f"http://127.0.0.1:{int(line.split()[1])}", tokens=tokens)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def orders_service(settings, monkeypatch, users_service) -> Iterator[None]:
    """This process configured as the README's ``orders`` service."""
    code = blocks(users_service.url)
    configured = settings_from(code["orders/settings.py"])
    assert set(configured["INSTALLED_APPS"]) <= set(settings.INSTALLED_APPS)
    for name in ("MIDDLEWARE", "COMMON_AUTH", "REST_FRAMEWORK"):
        setattr(settings, name, configured[name])
    for name, value in {
        "USERS_URL": users_service.url,
        "USERS_TOKEN_URL": f"{users_service.url}/o/token/",
        "USERS_CLIENT_ID": "orders",
        "USERS_CLIENT_SECRET": CLIENT_SECRET,
        "USERS_SCOPE": "users:read",
        "USERS_AUDIENCE": users_service.url,
    }.items():
        monkeypatch.setenv(name, value)
    # APIView read DEFAULT_*_CLASSES when rest_framework.views was first imported, which in
    # this process happened before these settings: give it what a fresh orders process has.
    from rest_framework.settings import api_settings
    from rest_framework.views import APIView

    monkeypatch.setattr(
        APIView, "authentication_classes", api_settings.DEFAULT_AUTHENTICATION_CLASSES
    )
    monkeypatch.setattr(APIView, "permission_classes", api_settings.DEFAULT_PERMISSION_CLASSES)
    views = install_module("orders.views", code["orders/views.py"])
    install_module("orders.urls", code["orders/urls.py"])
    settings.ROOT_URLCONF = "orders.urls"
    try:
        yield
    finally:
        views.users.close()
        for name in ("orders.urls", "orders.views", "orders"):
            sys.modules.pop(name, None)


def test_the_readme_covers_both_services() -> None:
    assert set(blocks("http://x")) == {
        "users/settings.py",
        "users/urls.py",
        "users/views.py",
        "orders/settings.py",
        "orders/urls.py",
        "orders/views.py",
    }


def test_a_user_token_from_users_reaches_orders_which_calls_users(
    orders_service, users_service
) -> None:
    token = users_service.tokens["orders:read"]
    response = Client().get("/api/orders/", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.content
    assert response.json() == {"owner": {"id": "user-42", "asked_by": "orders"}, "orders": []}


def test_orders_refuses_what_it_should(orders_service, users_service) -> None:
    client = Client()
    assert client.get("/api/orders/").status_code == 401
    narrow = users_service.tokens["orders:write"]
    response = client.get("/api/orders/", headers={"Authorization": f"Bearer {narrow}"})
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response["WWW-Authenticate"]
    fake = issue_access_token(
        SigningKeySet(SigningKey.generate("ES256")),  # a key users never published
        issuer=users_service.url,
        subject="user-42",
        audience="https://orders.internal",
        scopes=["orders:read"],
    )
    response = client.get("/api/orders/", headers={"Authorization": f"Bearer {fake}"})
    assert response.status_code == 401
    assert response.json()["reason"] == "unknown_kid"


def test_orders_settings_pass_the_checks(orders_service, settings) -> None:
    settings.DEBUG = True  # plain http on loopback
    assert [m for m in run_checks() if (m.id or "").startswith("common_auth")] == []
