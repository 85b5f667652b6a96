"""Settings from the environment: a bad value names the variable (and the account and key)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from users_service.environment import service_accounts, words

AUDIENCES = frozenset({"users", "orders"})
GOOD = {
    "secret_hash": "pbkdf2_sha256$1$salt$hash",
    "scopes": ["users:read"],
    "audiences": ["users"],
}


def accounts(monkeypatch: pytest.MonkeyPatch, value: object) -> dict[str, dict[str, Any]]:
    raw = value if isinstance(value, str) else json.dumps(value)
    monkeypatch.setenv("USERS_SERVICE_ACCOUNTS", raw)
    return service_accounts("USERS_SERVICE_ACCOUNTS", audiences=AUDIENCES)


def test_an_account_becomes_a_common_auth_client(monkeypatch) -> None:
    assert accounts(monkeypatch, {"orders": GOOD}) == {
        "orders": {
            "SECRET_HASH": GOOD["secret_hash"],
            "SCOPES": ["users:read"],
            "AUDIENCES": ["users"],
        }
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{nope", "USERS_SERVICE_ACCOUNTS: not valid JSON"),
        ([], "USERS_SERVICE_ACCOUNTS: expected a JSON object"),
        ({"orders": "x"}, "USERS_SERVICE_ACCOUNTS['orders']: expected an object"),
        (
            {"orders": {**GOOD, "secret": "x"}},
            "USERS_SERVICE_ACCOUNTS['orders']: unknown key(s) secret",
        ),
        (
            {"orders": {"scopes": [], "audiences": ["users"]}},
            "USERS_SERVICE_ACCOUNTS['orders']['secret_hash'] is missing",
        ),
        (
            {"orders": {**GOOD, "secret_hash": "plain"}},
            "USERS_SERVICE_ACCOUNTS['orders']['secret_hash']: expected a Django password hash",
        ),
        (
            {"orders": {**GOOD, "scopes": ["users:admin"]}},
            "USERS_SERVICE_ACCOUNTS['orders']['scopes']: not allowed: users:admin",
        ),
        (
            {"orders": {**GOOD, "scopes": "users:read"}},
            "USERS_SERVICE_ACCOUNTS['orders']['scopes']: expected a list",
        ),
        (
            {"orders": {**GOOD, "audiences": []}},
            "USERS_SERVICE_ACCOUNTS['orders']['audiences']: must name at least one",
        ),
        (
            {"orders": {**GOOD, "audiences": ["billing"]}},
            "USERS_SERVICE_ACCOUNTS['orders']['audiences']: unknown audience(s) billing",
        ),
        ({"42": GOOD}, "USERS_SERVICE_ACCOUNTS['42']: a client id must be a name"),
    ],
)
def test_a_bad_account_names_the_variable_and_key(monkeypatch, value, message) -> None:
    with pytest.raises(ImproperlyConfigured) as caught:
        accounts(monkeypatch, value)
    assert str(caught.value).startswith(message)


def test_unknown_user_scopes_are_refused(monkeypatch) -> None:
    monkeypatch.setenv("USERS_USER_SCOPES", "orders:read orders:admin")
    with pytest.raises(
        ImproperlyConfigured, match=r"USERS_USER_SCOPES: unknown value\(s\) orders:admin"
    ):
        words("USERS_USER_SCOPES", "", allowed=frozenset({"orders:read"}))
