"""System checks of the users lookup, run by ``manage.py check`` and when the WSGI app loads.

- ``orders.E001`` ``ORDERS_USERS_LOOKUP=http`` without ``USERS_URL`` (or not an http(s) URL)
- ``orders.E002`` ``ORDERS_USERS_LOOKUP=http`` without the ``USERS_*`` client credentials
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from common_auth import ClientCredentials, CommonAuthError
from django.apps import AppConfig
from django.conf import settings
from django.core import checks


@checks.register()
def check_users_lookup(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """With the http lookup, the users URL and the service credentials must be set."""
    if settings.ORDERS_USERS_LOOKUP != "http":
        return []
    errors: list[checks.CheckMessage] = []
    url = urlsplit(settings.USERS_URL)
    if url.scheme not in ("http", "https") or not url.netloc:
        errors.append(
            checks.Error(
                f"environment variable USERS_URL must be the users service's http(s) base URL, "
                f"got {settings.USERS_URL!r}",
                hint="or set ORDERS_USERS_LOOKUP=inprocess to look users up from the token",
                id="orders.E001",
            )
        )
    try:
        ClientCredentials.from_env("USERS", environ=os.environ)
    except CommonAuthError as exc:
        errors.append(checks.Error(str(exc), id="orders.E002"))
    return errors
