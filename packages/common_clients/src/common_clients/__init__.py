"""common-clients: typed clients for the Commons services and the runtime they stand on.

The public API is what this module exports (and :mod:`common_clients.errors`, the error tree);
modules whose names start with ``_`` are private. Generated clients live in one subpackage per
service (``common_clients.<service>``) and extend :class:`SyncClient` / :class:`AsyncClient`.
"""

from common_clients.__about__ import __version__
from common_clients._base_client import DEFAULT_LIMITS, DEFAULT_TIMEOUT, AsyncClient, SyncClient
from common_clients._cache import HTTPCache
from common_clients._enums import UnknownInt, UnknownStr
from common_clients._pagination import (
    AsyncPage,
    AsyncPager,
    CursorPagination,
    LimitOffsetPagination,
    PageNumberPagination,
    SyncPage,
)
from common_clients._response import RawResponse
from common_clients._retry import RetryPolicy
from common_clients._types import NOT_GIVEN, NotGiven, RequestOptions

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_TIMEOUT",
    "NOT_GIVEN",
    "AsyncClient",
    "AsyncPage",
    "AsyncPager",
    "CursorPagination",
    "HTTPCache",
    "LimitOffsetPagination",
    "NotGiven",
    "PageNumberPagination",
    "RawResponse",
    "RequestOptions",
    "RetryPolicy",
    "SyncClient",
    "SyncPage",
    "UnknownInt",
    "UnknownStr",
    "__version__",
]
