"""Database settings from URLs, through dj-database-url (never parsed by hand)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dj_database_url

from common_utils._errors import DatabaseConfigError


def database_from_url(
    url: str,
    *,
    alias: str = "default",
    conn_max_age: int = 0,
    conn_health_checks: bool = True,
    replica_of: str | None = None,
    test_name: str | None = None,
) -> dict[str, Any]:
    """Return one ``DATABASES`` entry for ``url`` (``postgresql://…``, ``sqlite:///path``, …).

    ``replica_of`` marks a read replica: in tests Django then mirrors the primary instead of
    creating a database. ``alias`` only names the entry in error messages.
    """
    try:
        config: dict[str, Any] = dict(
            dj_database_url.parse(
                url, conn_max_age=conn_max_age, conn_health_checks=conn_health_checks
            )
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise DatabaseConfigError(f"DATABASES[{alias!r}]: cannot read URL: {exc}") from None
    if not config.get("ENGINE"):
        raise DatabaseConfigError(f"DATABASES[{alias!r}]: the URL names no known database engine")
    test: dict[str, Any] = {}
    if replica_of is not None:
        test["MIRROR"] = replica_of
    if test_name is not None:
        test["NAME"] = test_name
    if test:
        config["TEST"] = test
    return config


def databases_from_urls(
    urls: Mapping[str, str],
    *,
    replicas: Mapping[str, str] | None = None,
    conn_max_age: int = 0,
) -> dict[str, dict[str, Any]]:
    """Return a whole ``DATABASES`` setting from ``{alias: url}``.

    ``replicas`` maps a replica alias to its primary alias, which must be among ``urls``.
    """
    replicas = dict(replicas or {})
    for replica, primary in replicas.items():
        if primary not in urls:
            raise DatabaseConfigError(
                f"DATABASES[{replica!r}] is a replica of {primary!r}, which has no URL"
            )
        if replica not in urls:
            raise DatabaseConfigError(f"replica DATABASES[{replica!r}] has no URL")
    return {
        alias: database_from_url(
            url, alias=alias, conn_max_age=conn_max_age, replica_of=replicas.get(alias)
        )
        for alias, url in urls.items()
    }
