"""Reading the users service's environment variables, each error naming the variable at fault.

Settings call these once at start-up; a bad value stops the process with `ImproperlyConfigured`
(``USERS_SERVICE_ACCOUNTS['orders']['scopes']: ...``) instead of failing on the first request.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

# The scopes the example services declare on their APIs; nothing else may be granted.
KNOWN_SCOPES = frozenset(
    {"users:read", "users:write", "orders:read", "orders:write", "notifications:read"}
)
_ACCOUNT_KEYS = frozenset({"secret_hash", "scopes", "audiences"})


def required(name: str) -> str:
    """The value of a variable that must be set and not empty."""
    value = os.environ.get(name, "")
    if not value.strip():
        raise ImproperlyConfigured(f"the environment variable {name} is required")
    return value


def optional(name: str, default: str) -> str:
    """The value of a variable, or `default` when it is unset or empty."""
    value = os.environ.get(name, "")
    return value if value.strip() else default


def flag(name: str, *, default: bool = False) -> bool:
    """A boolean variable: 1/true/yes/on or 0/false/no/off (any case)."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name}: expected true or false, got {value!r}")


def words(name: str, default: str, *, allowed: frozenset[str] | None = None) -> list[str]:
    """A space- or comma-separated list of words, without duplicates, in the given order."""
    raw = optional(name, default).replace(",", " ").split()
    result = list(dict.fromkeys(raw))
    if allowed is not None:
        unknown = sorted(set(result) - allowed)
        if unknown:
            raise ImproperlyConfigured(
                f"{name}: unknown value(s) {', '.join(unknown)}; "
                f"allowed: {', '.join(sorted(allowed))}"
            )
    if not result:
        raise ImproperlyConfigured(f"{name}: must name at least one value")
    return result


def number(name: str, default: float, *, low: float, high: float) -> float:
    """A number within ``[low, high]``."""
    raw = optional(name, str(default))
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}: expected a number, got {raw!r}") from None
    if not low <= value <= high:
        raise ImproperlyConfigured(f"{name}: must be between {low:g} and {high:g}, got {raw}")
    return value


def pem(name: str) -> str:
    """A PEM from a required variable; ``\\n`` written as two characters (env files that hold
    one line per variable) is read as a line break."""
    value = required(name).strip()
    if "\n" not in value and "\\n" in value:
        value = value.replace("\\n", "\n")
    if not value.startswith("-----BEGIN "):
        raise ImproperlyConfigured(
            f"{name}: expected a PEM private key (-----BEGIN PRIVATE KEY----- ...)"
        )
    return value


def _string_list(where: str, value: Any, *, allowed: frozenset[str] | None = None) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise ImproperlyConfigured(f"{where}: expected a list of non-empty strings")
    if allowed is not None:
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise ImproperlyConfigured(f"{where}: not allowed: {', '.join(unknown)}")
    return list(value)


def _account(where: str, value: Any, audiences: frozenset[str]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ImproperlyConfigured(f"{where}: expected an object with {', '.join(_ACCOUNT_KEYS)}")
    extra = sorted(set(value) - _ACCOUNT_KEYS)
    if extra:
        raise ImproperlyConfigured(f"{where}: unknown key(s) {', '.join(extra)}")
    for key in sorted(_ACCOUNT_KEYS - {"scopes"}):
        if key not in value:
            raise ImproperlyConfigured(f"{where}[{key!r}] is missing")
    secret_hash = value["secret_hash"]
    # make_password's format is "<algorithm>$<fields>"; the algorithm is checked against
    # PASSWORD_HASHERS by the system check users.E001, once Django is set up.
    if not isinstance(secret_hash, str) or "$" not in secret_hash:
        raise ImproperlyConfigured(
            f"{where}['secret_hash']: expected a Django password hash "
            "(django.contrib.auth.hashers.make_password(secret))"
        )
    scopes = _string_list(f"{where}['scopes']", value.get("scopes", []), allowed=KNOWN_SCOPES)
    granted_audiences = _string_list(f"{where}['audiences']", value["audiences"])
    if not granted_audiences:
        raise ImproperlyConfigured(f"{where}['audiences']: must name at least one audience")
    unknown = sorted(set(granted_audiences) - audiences)
    if unknown:
        raise ImproperlyConfigured(
            f"{where}['audiences']: unknown audience(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(audiences))}"
        )
    return {"SECRET_HASH": secret_hash, "SCOPES": scopes, "AUDIENCES": granted_audiences}


def service_accounts(name: str, *, audiences: frozenset[str]) -> dict[str, dict[str, Any]]:
    """``COMMON_AUTH['CLIENTS']`` from a JSON variable::

        {"orders": {"secret_hash": "<make_password hash>", "scopes": ["users:read"],
                    "audiences": ["users"]}}

    Client ids are not all digits, so a service token's ``sub`` can never be read as a user id.
    """
    raw = optional(name, "{}")
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ImproperlyConfigured(
            f"{name}: not valid JSON ({exc.msg} at char {exc.pos})"
        ) from None
    if not isinstance(document, dict):
        raise ImproperlyConfigured(f"{name}: expected a JSON object of client id -> account")
    clients: dict[str, dict[str, Any]] = {}
    for client_id, account in document.items():
        where = f"{name}[{client_id!r}]"
        if not client_id.strip() or client_id.isdigit() or ":" in client_id:
            raise ImproperlyConfigured(
                f"{where}: a client id must be a name (not empty, not all digits, no ':')"
            )
        clients[client_id] = _account(where, account, audiences)
    return clients
