"""DRF's three pagination shapes, and pages that iterate lazily across a whole listing.

The generator recognises a list operation by its response (``results`` beside ``next``) and its
query parameters: ``page`` -> :class:`PageNumberPagination`, ``limit``/``offset`` ->
:class:`LimitOffsetPagination`, ``cursor`` -> :class:`CursorPagination`. A pagination style knows
where the items are and which query parameters fetch the next page: it reads them from the ``next``
link DRF returns, and sends them to the client's own base URL (a link may name the host the
service believes it has, which is not always the one this client reaches it by).

``for pet in client.pets.list()`` walks every item of every page, fetching a page only when the
previous one is used up; ``page.items`` is one page; ``page.next_page()`` fetches the next.
The async forms: ``async for pet in client.pets.list()``, or ``page = await client.pets.list()``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "AsyncPage",
    "AsyncPager",
    "CursorPagination",
    "LimitOffsetPagination",
    "PageNumberPagination",
    "Pagination",
    "SyncPage",
]

_T = TypeVar("_T")


def _next_link_params(body: Any, names: tuple[str, ...]) -> dict[str, str] | None:
    link = getattr(body, "next", None)
    if not link:
        return None
    query = parse_qs(urlsplit(str(link)).query, keep_blank_values=True)
    found = {name: query[name][-1] for name in names if name in query}
    return found or None


class Pagination(Protocol):
    """Where a page's items are, and the query parameters of the page after it."""

    def items(self, body: Any) -> list[Any]:
        """The items of one parsed page."""

    def next_params(self, body: Any) -> dict[str, str] | None:
        """Query parameters that fetch the page after ``body``, ``None`` on the last page."""


@dataclass(frozen=True, slots=True)
class PageNumberPagination:
    """DRF ``PageNumberPagination``: ``?page=N``; ``{count, next, previous, results}``."""

    page_param: str = "page"
    results_field: str = "results"

    def items(self, body: Any) -> list[Any]:
        return list(getattr(body, self.results_field) or ())

    def next_params(self, body: Any) -> dict[str, str] | None:
        return _next_link_params(body, (self.page_param,))


@dataclass(frozen=True, slots=True)
class LimitOffsetPagination:
    """DRF ``LimitOffsetPagination``: ``?limit=L&offset=O``; ``{count, next, previous, results}``"""

    limit_param: str = "limit"
    offset_param: str = "offset"
    results_field: str = "results"

    def items(self, body: Any) -> list[Any]:
        return list(getattr(body, self.results_field) or ())

    def next_params(self, body: Any) -> dict[str, str] | None:
        return _next_link_params(body, (self.limit_param, self.offset_param))


@dataclass(frozen=True, slots=True)
class CursorPagination:
    """DRF ``CursorPagination``: ``?cursor=opaque``; ``{next, previous, results}``, no count."""

    cursor_param: str = "cursor"
    results_field: str = "results"

    def items(self, body: Any) -> list[Any]:
        return list(getattr(body, self.results_field) or ())

    def next_params(self, body: Any) -> dict[str, str] | None:
        return _next_link_params(body, (self.cursor_param,))


class SyncPage(Generic[_T]):
    """One page of a listing; iterating it walks this page and every page after it."""

    def __init__(
        self,
        *,
        body: Any,
        pagination: Pagination,
        fetch: Callable[[Mapping[str, str]], SyncPage[_T]],
    ) -> None:
        self.body = body
        """The parsed page as the API returned it (e.g. with ``count``)."""
        self.items: list[_T] = pagination.items(body)
        self._next = pagination.next_params(body)
        self._fetch = fetch

    @property
    def count(self) -> int | None:
        """The total number of items the API reports, when it reports one."""
        count = getattr(self.body, "count", None)
        return count if isinstance(count, int) else None

    def has_next_page(self) -> bool:
        return self._next is not None

    def next_page(self) -> SyncPage[_T] | None:
        """The page after this one (one request), or ``None`` on the last page."""
        return None if self._next is None else self._fetch(self._next)

    def iter_pages(self) -> Iterator[SyncPage[_T]]:
        """This page and the ones after it, each fetched when the iteration reaches it."""
        page: SyncPage[_T] | None = self
        while page is not None:
            yield page
            page = page.next_page()

    def __iter__(self) -> Iterator[_T]:
        for page in self.iter_pages():
            yield from page.items

    def __repr__(self) -> str:
        return f"<SyncPage items={len(self.items)} next={self._next!r}>"


class AsyncPage(Generic[_T]):
    """One page of a listing, async; ``async for`` walks this page and every page after it."""

    def __init__(
        self,
        *,
        body: Any,
        pagination: Pagination,
        fetch: Callable[[Mapping[str, str]], Awaitable[AsyncPage[_T]]],
    ) -> None:
        self.body = body
        """The parsed page as the API returned it (e.g. with ``count``)."""
        self.items: list[_T] = pagination.items(body)
        self._next = pagination.next_params(body)
        self._fetch = fetch

    @property
    def count(self) -> int | None:
        """The total number of items the API reports, when it reports one."""
        count = getattr(self.body, "count", None)
        return count if isinstance(count, int) else None

    def has_next_page(self) -> bool:
        return self._next is not None

    async def next_page(self) -> AsyncPage[_T] | None:
        """The page after this one (one request), or ``None`` on the last page."""
        return None if self._next is None else await self._fetch(self._next)

    async def iter_pages(self) -> AsyncIterator[AsyncPage[_T]]:
        """This page and the ones after it, each fetched when the iteration reaches it."""
        page: AsyncPage[_T] | None = self
        while page is not None:
            yield page
            page = await page.next_page()

    async def __aiter__(self) -> AsyncIterator[_T]:
        async for page in self.iter_pages():
            for item in page.items:
                yield item

    def __repr__(self) -> str:
        return f"<AsyncPage items={len(self.items)} next={self._next!r}>"


class AsyncPager(Generic[_T]):
    """What an async list call returns: await it for the first page, or ``async for`` the items."""

    def __init__(self, first: Callable[[], Awaitable[AsyncPage[_T]]]) -> None:
        self._first = first

    def __await__(self) -> Generator[Any, None, AsyncPage[_T]]:
        return self._first().__await__()

    async def __aiter__(self) -> AsyncIterator[_T]:
        page = await self._first()
        async for item in page:
            yield item
