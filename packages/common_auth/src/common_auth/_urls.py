"""Checking the endpoint URLs this package talks to (token, JWKS, introspection) once, up front."""

from __future__ import annotations

import httpx

from common_auth._errors import ConfigurationError


def endpoint_url(value: str, *, owner: str, name: str) -> str:
    """`value` as a normalised absolute http(s) URL, or `ConfigurationError` naming `name`."""
    try:
        url: httpx.URL | None = httpx.URL(value)
    except (httpx.InvalidURL, TypeError):
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise ConfigurationError(f"{owner}: {name} must be an absolute http(s) URL, got {value!r}")
    return str(url)
