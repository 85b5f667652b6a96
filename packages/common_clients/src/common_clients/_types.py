"""The "not passed" sentinel and the per-call options every client method accepts.

``NOT_GIVEN`` keeps "use the client's default" apart from ``None`` (which, for ``timeout``, would
mean something else): ``client.pets.list(timeout=NOT_GIVEN)`` and ``client.pets.list()`` are the
same call. :class:`RequestOptions` is the typed form of the per-call keywords generated methods
forward to the runtime.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal, TypeAlias, TypedDict, TypeVar, final

import httpx

__all__ = [
    "NOT_GIVEN",
    "NotGiven",
    "QueryValue",
    "RequestOptions",
    "TimeoutTypes",
    "given",
]

_T = TypeVar("_T")


@final
class NotGiven:
    """The type of :data:`NOT_GIVEN`: an argument left out, as opposed to one passed as ``None``."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __reduce__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()
"""Marks a keyword argument as not passed, so the client's default applies."""

TimeoutTypes: TypeAlias = float | httpx.Timeout
"""Seconds for every phase, or an :class:`httpx.Timeout` per phase (never unbounded)."""

QueryValue: TypeAlias = Any
"""A query parameter's value: scalar, date, UUID, enum; a list repeats the name; None is omitted."""


class RequestOptions(TypedDict, total=False):
    """What a single call may change about how it is sent; each key left out keeps the client's.

    Every generated method takes these as keywords (``**options: Unpack[RequestOptions]``):
    ``timeout`` (seconds, or an :class:`httpx.Timeout`), ``max_retries``, ``extra_headers``,
    ``extra_query``, and ``idempotency_key``: a string is sent as the ``Idempotency-Key`` header,
    ``True`` generates one (the same for every retry of the call); with a key, POST and PATCH calls
    are retried like idempotent ones.
    """

    timeout: TimeoutTypes | NotGiven
    max_retries: int | NotGiven
    extra_headers: Mapping[str, str]
    extra_query: Mapping[str, QueryValue]
    idempotency_key: str | bool


def given(value: _T | NotGiven, default: _T) -> _T:
    """``value`` unless it is :data:`NOT_GIVEN`, then ``default``."""
    return default if isinstance(value, NotGiven) else value
