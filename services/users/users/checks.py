"""System checks of the users service: the service accounts' secret hashes can be checked."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import identify_hasher
from django.core.checks import CheckMessage, Error, register


@register()
def check_service_account_hashes(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``users.E001``: a ``secret_hash`` of ``USERS_SERVICE_ACCOUNTS`` that no configured
    password hasher can check (every token request of that client would be refused)."""
    errors: list[CheckMessage] = []
    for client_id, account in getattr(settings, "COMMON_AUTH", {}).get("CLIENTS", {}).items():
        try:
            identify_hasher(account["SECRET_HASH"])
        except ValueError:
            errors.append(
                Error(
                    f"USERS_SERVICE_ACCOUNTS[{client_id!r}]['secret_hash']: not a hash of a "
                    "configured password hasher",
                    hint="make it with django.contrib.auth.hashers.make_password(secret)",
                    id="users.E001",
                )
            )
    return errors
