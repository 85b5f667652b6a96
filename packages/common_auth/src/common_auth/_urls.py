"""Checking the endpoint URLs this package talks to (token, JWKS, introspection) once, up front."""

from __future__ import annotations

import httpx

from common_auth._errors import ConfigurationError


def url_problem(value: object) -> str | None:
    """What makes `value` unusable as an endpoint URL, or None. Never quotes a password."""
    try:
        url: httpx.URL | None = httpx.URL(value)  # type: ignore[arg-type]
    except (httpx.InvalidURL, TypeError):
        url = None
    # Shown without its user:password@ part, whatever else is wrong with it.
    shown = repr(str(url.copy_with(userinfo=b"")) if url and url.userinfo else value)
    if url is None or url.scheme not in ("http", "https") or not url.host:
        return f"must be an absolute http(s) URL, got {shown}"
    if url.userinfo:
        # httpx logs request URLs in full: credentials in one would reach the logs.
        return f"must not carry credentials (user:password@), got {shown}"
    return None


def endpoint_url(value: str, *, owner: str, name: str) -> str:
    """`value` as a normalised absolute http(s) URL, or `ConfigurationError` naming `name`."""
    problem = url_problem(value)
    if problem is not None:
        raise ConfigurationError(f"{owner}: {name} {problem}")
    return str(httpx.URL(value))
