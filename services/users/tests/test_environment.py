"""The users service's environment: every bad variable named at once (with the account and key),
and new services' scopes and audiences taken from ``USERS_SERVICES`` without editing code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from common_auth import TokenVerifier
from common_auth.django import get_signing_keys
from common_utils import EnvironmentSettingsError

from tests.conftest import ENVIRONMENT, ISSUER, PASSWORD, post_form
from users_service.environment import UsersEnvironment

SERVICE_DIR = Path(__file__).resolve().parent.parent
GOOD = {
    "secret_hash": "pbkdf2_sha256$1$salt$hash",
    "scopes": ["users:read"],
    "audiences": ["users"],
}
CATALOG = {
    "orders": ["orders:read", "orders:write"],
    "notifications": ["notifications:read"],
    "catalog": ["catalog:read", "catalog:write"],
}


def environment(**changes: Any) -> dict[str, str]:
    values = {k: v for k, v in ENVIRONMENT.items() if k != "DJANGO_SETTINGS_MODULE"}
    for name, value in changes.items():
        if value is None:
            values.pop(name, None)
        else:
            values[name] = value if isinstance(value, str) else json.dumps(value)
    return values


def read(**changes: Any) -> UsersEnvironment:
    return UsersEnvironment.from_environ(environment(**changes))


def errors(**changes: Any) -> dict[str, str]:
    with pytest.raises(EnvironmentSettingsError) as caught:
        read(**changes)
    return caught.value.errors


def test_an_account_becomes_a_common_auth_client() -> None:
    assert read(USERS_SERVICE_ACCOUNTS={"orders": GOOD}).clients() == {
        "orders": {
            "SECRET_HASH": GOOD["secret_hash"],
            "SCOPES": ["users:read"],
            "AUDIENCES": ["users"],
        }
    }


@pytest.mark.parametrize(
    ("value", "where", "message"),
    [
        ("{nope", "USERS_SERVICE_ACCOUNTS", "Invalid JSON"),
        ([], "USERS_SERVICE_ACCOUNTS", "Input should be a valid dictionary"),
        ({"orders": "x"}, "USERS_SERVICE_ACCOUNTS['orders']", "Input should be a valid dict"),
        (
            {"orders": {**GOOD, "secret": "x"}},
            "USERS_SERVICE_ACCOUNTS['orders']['secret']",
            "Extra inputs are not permitted",
        ),
        (
            {"orders": {"scopes": [], "audiences": ["users"]}},
            "USERS_SERVICE_ACCOUNTS['orders']['secret_hash']",
            "missing",
        ),
        (
            {"orders": {**GOOD, "secret_hash": "plain"}},
            "USERS_SERVICE_ACCOUNTS['orders']['secret_hash']",
            "expected a Django password hash",
        ),
        (
            {"orders": {**GOOD, "scopes": ["users:admin"]}},
            "USERS_SERVICE_ACCOUNTS['orders']['scopes']",
            "unknown scope(s) users:admin; known: ",
        ),
        (
            {"orders": {**GOOD, "scopes": "users:read"}},
            "USERS_SERVICE_ACCOUNTS['orders']['scopes']",
            "Input should be a valid list",
        ),
        (
            {"orders": {**GOOD, "audiences": []}},
            "USERS_SERVICE_ACCOUNTS['orders']['audiences']",
            "List should have at least 1 item",
        ),
        (
            {"orders": {**GOOD, "audiences": ["billing"]}},
            "USERS_SERVICE_ACCOUNTS['orders']['audiences']",
            "unknown audience(s) billing; known: notifications, orders, users",
        ),
        (
            {"42": GOOD},
            "USERS_SERVICE_ACCOUNTS['42']",
            "a client id must be a name (not empty, not all digits, no ':')",
        ),
    ],
)
def test_a_bad_account_names_the_variable_and_key(value: Any, where: str, message: str) -> None:
    found = errors(USERS_SERVICE_ACCOUNTS=value)
    assert list(found) == [where]
    assert found[where].startswith(message)


def test_every_bad_variable_is_named_at_once() -> None:
    found = errors(
        DJANGO_SECRET_KEY=None,
        AUTH_ISSUER="not-a-url",
        USERS_SIGNING_KEY="no pem here",
        USERS_USER_SCOPES="orders:read orders:admin",
        USERS_TOKEN_LIFETIME="2h",
    )
    assert found == {
        "DJANGO_SECRET_KEY": "required, not set",
        "AUTH_ISSUER": "expected an absolute URL (scheme://host/path)",
        "USERS_SIGNING_KEY": "expected a PEM private key (-----BEGIN PRIVATE KEY----- ...)",
        "USERS_USER_SCOPES": "unknown scope(s) orders:admin; known: notifications:read, "
        "orders:read, orders:write, users:read, users:write",
        "USERS_TOKEN_LIFETIME": "Input should be less than or equal to 3600s",
    }


def test_the_defaults_are_the_example_services() -> None:
    env = read()
    assert env.services == {
        "orders": ["orders:read", "orders:write"],
        "notifications": ["notifications:read"],
        "users": ["users:read", "users:write"],
    }
    assert env.user_scopes == ["orders:read", "orders:write", "notifications:read", "users:read"]
    assert env.user_audiences == ["orders", "notifications", "users"]
    assert env.USERS_TOKEN_LIFETIME.total_seconds() == 300


def test_a_new_service_s_scopes_and_audience_come_from_the_environment() -> None:
    env = read(
        USERS_SERVICES=CATALOG,
        USERS_SERVICE_ACCOUNTS={
            "catalog": {**GOOD, "scopes": ["users:read"], "audiences": ["users"]},
            "orders": {**GOOD, "scopes": ["catalog:read"], "audiences": ["catalog"]},
        },
    )
    assert env.services["catalog"] == ["catalog:read", "catalog:write"]
    assert {"catalog:read", "catalog:write"} <= set(env.user_scopes)
    assert "catalog" in env.user_audiences
    assert env.clients()["orders"]["AUDIENCES"] == ["catalog"]
    # Naming the scopes a user gets explicitly works for the new service's too.
    assert read(USERS_SERVICES=CATALOG, USERS_USER_SCOPES="catalog:read").user_scopes == [
        "catalog:read"
    ]


def test_a_scope_of_an_unconfigured_service_is_still_refused() -> None:
    found = errors(USERS_USER_SCOPES="catalog:read catalog:write")
    assert found["USERS_USER_SCOPES"].startswith("unknown scope(s) catalog:read, catalog:write")


def test_bad_services_are_named() -> None:
    assert errors(USERS_SERVICES={"catalog": "catalog:read"}) == {
        "USERS_SERVICES['catalog']": "Input should be a valid list"
    }
    assert errors(USERS_SERVICES={"orders": ["orders:read"], "catalog": ["orders:read"]}) == {
        "USERS_SERVICES['catalog']": "scope orders:read is declared by orders too"
    }
    assert "USERS_SERVICES['catalog'][0]" in errors(USERS_SERVICES={"catalog": ["a b"]})


def _settings_of(env: dict[str, str], *names: str) -> subprocess.CompletedProcess[str]:
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}))"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=SERVICE_DIR,
        env={
            **{k: v for k, v in os.environ.items() if k not in ENVIRONMENT},
            **env,
            "DJANGO_SETTINGS_MODULE": "users_service.settings",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_service_starts_with_a_new_service_configured() -> None:
    started = _settings_of(
        environment(USERS_SERVICES=CATALOG), "USERS_USER_SCOPES", "USERS_USER_AUDIENCES"
    )
    assert started.returncode == 0, started.stderr
    values = json.loads(started.stdout)
    assert values["USERS_USER_SCOPES"] == [
        "orders:read",
        "orders:write",
        "notifications:read",
        "catalog:read",
        "catalog:write",
        "users:read",
    ]
    assert values["USERS_USER_AUDIENCES"] == ["orders", "notifications", "catalog", "users"]


def test_a_misconfigured_start_lists_every_bad_variable() -> None:
    started = _settings_of(
        environment(DATABASE_URL=None, AUTH_ISSUER=None, USERS_TOKEN_LIFETIME="forever"),
        "DEBUG",
    )
    assert started.returncode != 0
    tail = started.stderr
    assert "EnvironmentSettingsError: 3 environment variables are missing or wrong:" in tail
    assert "  DATABASE_URL: required, not set" in tail
    assert "  AUTH_ISSUER: required, not set" in tail
    assert "  USERS_TOKEN_LIFETIME: expected a duration" in tail


def test_a_user_gets_a_token_for_a_configured_new_service(client, alice, settings) -> None:
    env = read(USERS_SERVICES=CATALOG)
    settings.USERS_USER_SCOPES = env.user_scopes
    settings.USERS_USER_AUDIENCES = env.user_audiences
    form = {
        "grant_type": "password",
        "username": "alice",
        "password": PASSWORD,
        "scope": "catalog:read",
        "audience": "catalog",
    }
    response = post_form(client, "/o/token/", form)
    assert response.status_code == 200, response.content
    verifier = TokenVerifier(issuer=ISSUER, audience="catalog", keys=get_signing_keys())
    claims = verifier.verify(response.json()["access_token"])
    assert claims.scopes == frozenset({"catalog:read"})
