"""The access token of the request being served, for code that must pass it on.

The Django middleware sets it for the duration of a request; `ForwardUserToken` reads it. A
context variable keeps concurrent requests (threads or asyncio tasks) apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_current_token: ContextVar[str | None] = ContextVar("common_auth_current_token", default=None)


def current_access_token() -> str | None:
    """The bearer token of the request being served, or None outside an authenticated request."""
    return _current_token.get()


@contextmanager
def access_token_context(token: str | None) -> Iterator[None]:
    """Make `token` the current access token inside the ``with`` block."""
    reset = _current_token.set(token)
    try:
        yield
    finally:
        _current_token.reset(reset)
