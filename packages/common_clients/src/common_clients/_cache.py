"""HTTP caching of a client's answers (RFC 9111, a private cache held in memory).

A client built with ``cache=HTTPCache()`` sends its requests through a caching transport:

- A ``GET`` answer with explicit freshness (``Cache-Control: max-age``, or
  ``Expires`` with ``Date``) is stored and served from memory while it is fresh, without a
  request. Its ``Age`` header says how old it is.
- An answer with a validator (``ETag``, ``Last-Modified``) is kept after it goes stale, and the
  next request for it is sent conditional (``If-None-Match`` / ``If-Modified-Since``); a
  ``304 Not Modified`` refreshes the stored answer's headers and serves its body.
- ``no-store`` (on the request or the answer) is never stored, ``no-cache`` is always
  revalidated, ``Vary`` keys each stored answer by the request headers it names, a request with
  its own conditional headers goes through untouched, and a successful unsafe request
  (``POST``, ``PUT``, ``PATCH``, ``DELETE``) drops what is stored for its URL (RFC 9111 §4.4).

The store is bounded (entries, and bytes per body) and evicts the least recently used entry; it
is private to the process and to the credentials the client calls with: an answer that depends
on the caller says so with ``Vary: Authorization``, and the Commons services do.

hishel (the RFC 9111 library for httpx) was measured for this and not taken: its 2.0 stores only
in SQLite or Redis, so a hit costs a locked SQLite read and a msgpack decode (200 us a hit,
against 104 us for a whole call to an ``httpx.MockTransport``), where a lookup cache wants a
dictionary read. The subset above is what the services send.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import httpx

__all__ = ["AsyncCachingTransport", "CachingTransport", "HTTPCache"]

CACHE_STATUS = "common_clients.cache"
"""The ``extensions`` key of an answer that went through a cache: ``"hit"`` (served from the
store), ``"revalidated"`` (a 304 refreshed the stored answer), ``"miss"`` (sent and stored or
not)."""

# Statuses that may be stored (RFC 9110 §15.1's heuristically cacheable ones); with explicit
# freshness or a validator only, since this cache makes no heuristic freshness.
_STORABLE_STATUSES = frozenset({200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_CACHED_METHODS = frozenset({"GET"})
_CONDITIONAL = ("if-none-match", "if-modified-since", "if-match", "if-unmodified-since", "range")
# Headers a 304 does not replace in the stored answer (RFC 9111 §3.2).
_KEPT_ON_UPDATE = frozenset({"content-length", "content-encoding", "transfer-encoding"})


def _directives(value: str) -> dict[str, str | None]:
    """``Cache-Control`` as ``{directive: argument or None}``, names lowered."""
    found: dict[str, str | None] = {}
    for part in value.split(","):
        name, _, argument = part.strip().partition("=")
        if name:
            found[name.strip().lower()] = argument.strip().strip('"') if argument else None
    return found


def _seconds(value: str | None) -> int | None:
    """A delta-seconds argument, or ``None`` when it is missing or not a number."""
    if value is None or not value.isdigit():
        return None
    return int(value)


def _http_date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


@dataclass(eq=False)
class _Entry:
    """One stored answer and what its freshness is computed from."""

    status_code: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    vary: tuple[tuple[str, str | None], ...]
    lifetime: float  # seconds of freshness from the origin's point of view
    initial_age: float  # its age when it arrived (Age header and the time it took)
    received: float  # time.monotonic() when it arrived
    always_revalidate: bool
    validators: dict[str, str] = field(default_factory=dict)

    def age(self, now: float) -> float:
        return self.initial_age + (now - self.received)

    def fresh(self, now: float) -> bool:
        return not self.always_revalidate and self.age(now) < self.lifetime

    def matches(self, request: httpx.Request) -> bool:
        return all(request.headers.get(name) == value for name, value in self.vary)


def _freshness(headers: httpx.Headers, directives: dict[str, str | None]) -> float | None:
    """An answer's freshness lifetime in seconds, ``None`` when it states none."""
    max_age = _seconds(directives.get("max-age"))
    if max_age is not None:
        return float(max_age)
    expires = headers.get("expires")
    if expires is not None:
        expires_at = _http_date(expires)
        date = _http_date(headers.get("date")) or time.time()
        return max(0.0, expires_at - date) if expires_at is not None else 0.0
    return None


class HTTPCache:
    """An in-memory HTTP cache for one client (``UsersClient(..., cache=HTTPCache())``).

    ``max_entries`` answers are kept (the least recently used goes first); an answer whose body
    is larger than ``max_body_bytes`` is passed on and not stored. One cache may serve several
    clients of the same caller; it is safe to share between threads.
    """

    def __init__(self, *, max_entries: int = 1024, max_body_bytes: int = 1024 * 1024) -> None:
        if max_entries < 1:
            raise ValueError(f"HTTPCache(max_entries=...): must be >= 1, got {max_entries}")
        if max_body_bytes < 0:
            raise ValueError(f"HTTPCache(max_body_bytes=...): must be >= 0, got {max_body_bytes}")
        self.max_entries = max_entries
        self.max_body_bytes = max_body_bytes
        self._entries: OrderedDict[tuple[str, str], list[_Entry]] = OrderedDict()
        self._count = 0  # answers stored: one per variant of each key
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._count

    def clear(self) -> None:
        """Forget every stored answer."""
        with self._lock:
            self._entries.clear()
            self._count = 0

    def __repr__(self) -> str:
        return f"<HTTPCache {len(self)} of {self.max_entries} entries>"

    # -- the steps the transports take ------------------------------------------------------------

    def _lookup(self, request: httpx.Request) -> _Entry | None:
        key = (request.method, str(request.url))
        with self._lock:
            variants = self._entries.get(key)
            if not variants:
                return None
            self._entries.move_to_end(key)
            for entry in variants:
                if entry.matches(request):
                    return entry
        return None

    def _store(self, request: httpx.Request, entry: _Entry) -> None:
        key = (request.method, str(request.url))
        with self._lock:
            before = self._entries.pop(key, [])
            variants = [e for e in before if e.vary != entry.vary]
            variants.insert(0, entry)
            self._entries[key] = variants
            self._count += len(variants) - len(before)
            while self._count > self.max_entries:
                oldest_key, oldest = next(iter(self._entries.items()))
                oldest.pop()
                self._count -= 1
                if not oldest:
                    del self._entries[oldest_key]

    def _invalidate(self, url: httpx.URL) -> None:
        text = str(url)
        with self._lock:
            for method in _CACHED_METHODS:
                self._count -= len(self._entries.pop((method, text), []))

    def _discard(self, request: httpx.Request, entry: _Entry) -> None:
        key = (request.method, str(request.url))
        with self._lock:
            variants = self._entries.get(key)
            kept = [e for e in variants or [] if e is not entry]
            if variants is not None and len(kept) < len(variants):
                variants[:] = kept
                self._count -= 1
                if not variants:
                    del self._entries[key]


def _bypasses(request: httpx.Request) -> bool:
    """Requests the cache neither answers nor stores: unsafe methods, the caller's own
    conditionals or ranges, and ``no-store``."""
    if request.method not in _CACHED_METHODS:
        return True
    headers = request.headers
    if any(name in headers for name in _CONDITIONAL):
        return True
    control = headers.get("cache-control")
    return control is not None and "no-store" in _directives(control)


def _request_wants_revalidation(request: httpx.Request) -> bool:
    control = request.headers.get("cache-control")
    if control is None:
        return "no-cache" in request.headers.get("pragma", "")
    directives = _directives(control)
    return "no-cache" in directives or directives.get("max-age") == "0"


def _served(entry: _Entry, request: httpx.Request, status: str, now: float) -> httpx.Response:
    headers = [(k, v) for k, v in entry.headers if k.lower() != b"age"]
    headers.append((b"Age", str(int(entry.age(now))).encode()))
    return httpx.Response(
        entry.status_code,
        headers=headers,
        stream=httpx.ByteStream(entry.body),
        request=request,
        extensions={CACHE_STATUS: status},
    )


def _conditional(request: httpx.Request, entry: _Entry) -> httpx.Request:
    """``request`` with the stored answer's validators as conditions."""
    if not entry.validators:
        return request
    headers = request.headers.copy()
    if "etag" in entry.validators:
        headers["If-None-Match"] = entry.validators["etag"]
    if "last-modified" in entry.validators:
        headers["If-Modified-Since"] = entry.validators["last-modified"]
    return httpx.Request(
        request.method, request.url, headers=headers, extensions=request.extensions
    )


def _updated(entry: _Entry, not_modified: httpx.Response, sent_at: float) -> _Entry:
    """The stored answer with the 304's headers over its own and its freshness restarted."""
    replaced = {
        key.lower()
        for key, _ in not_modified.headers.raw
        if key.lower().decode() not in _KEPT_ON_UPDATE
    }
    headers = [(k, v) for k, v in entry.headers if k.lower() not in replaced]
    headers += [
        (k, v) for k, v in not_modified.headers.raw if k.lower().decode() not in _KEPT_ON_UPDATE
    ]
    merged = httpx.Headers(headers)
    directives = _directives(merged.get("cache-control", ""))
    now = time.monotonic()
    return _Entry(
        status_code=entry.status_code,
        headers=headers,
        body=entry.body,
        vary=entry.vary,
        lifetime=_freshness(merged, directives) or 0.0,
        initial_age=_initial_age(merged, sent_at, now),
        received=now,
        always_revalidate="no-cache" in directives,
        validators=_validators(merged) or entry.validators,
    )


def _validators(headers: httpx.Headers) -> dict[str, str]:
    found = {}
    for name in ("etag", "last-modified"):
        value = headers.get(name)
        if value:
            found[name] = value
    return found


def _initial_age(headers: httpx.Headers, sent_at: float, now: float) -> float:
    return float(_seconds(headers.get("age")) or 0) + max(0.0, now - sent_at)


def _entry_for(
    request: httpx.Request, response: httpx.Response, body: bytes, sent_at: float
) -> _Entry | None:
    """What to store of an answer, or ``None`` when it may not or need not be stored."""
    if response.status_code not in _STORABLE_STATUSES:
        return None
    headers = response.headers
    directives = _directives(headers.get("cache-control", ""))
    if "no-store" in directives:
        return None
    vary_names = [name.strip().lower() for name in headers.get("vary", "").split(",")]
    if "*" in vary_names:
        return None
    lifetime = _freshness(headers, directives)
    validators = _validators(headers)
    if lifetime is None and not validators:
        return None
    now = time.monotonic()
    return _Entry(
        status_code=response.status_code,
        headers=list(headers.raw),
        body=body,
        vary=tuple((name, request.headers.get(name)) for name in vary_names if name),
        lifetime=lifetime or 0.0,
        initial_age=_initial_age(headers, sent_at, now),
        received=now,
        always_revalidate="no-cache" in directives,
        validators=validators,
    )


def _rebuilt(
    response: httpx.Response,
    request: httpx.Request,
    stream: httpx.SyncByteStream | httpx.AsyncByteStream,
    status: str,
) -> httpx.Response:
    return httpx.Response(
        response.status_code,
        headers=response.headers,
        stream=stream,
        request=request,
        extensions={**response.extensions, CACHE_STATUS: status},
    )


class _Rest(httpx.SyncByteStream):
    """What was read while deciding whether to store, then the rest of the original stream."""

    def __init__(self, head: list[bytes], rest: Iterator[bytes], original: httpx.Response) -> None:
        self._head, self._rest, self._original = head, rest, original

    def __iter__(self) -> Iterator[bytes]:
        yield from self._head
        yield from self._rest

    def close(self) -> None:
        self._original.close()


class _AsyncRest(httpx.AsyncByteStream):
    def __init__(
        self, head: list[bytes], rest: AsyncIterator[bytes], original: httpx.Response
    ) -> None:
        self._head, self._rest, self._original = head, rest, original

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._head:
            yield chunk
        async for chunk in self._rest:
            yield chunk

    async def aclose(self) -> None:
        await self._original.aclose()


class _Exchange:
    """One request through the cache: what the sync and async transports share around their
    one ``send``. :meth:`before` answers from the store or says what to send; :meth:`after`
    takes the answer (a 304 refreshes the stored one); :meth:`store` keeps a body read whole."""

    def __init__(self, cache: HTTPCache, request: httpx.Request) -> None:
        self.cache = cache
        self.request = request
        self.entry: _Entry | None = None
        self.sent_at = 0.0

    def before(self) -> httpx.Response | httpx.Request:
        """A stored answer to serve, or the request to send (conditional when one is stale)."""
        request = self.request
        self.entry = entry = self.cache._lookup(request)
        now = time.monotonic()
        if entry is not None and entry.fresh(now) and not _request_wants_revalidation(request):
            return _served(entry, request, "hit", now)
        self.sent_at = time.monotonic()
        return request if entry is None else _conditional(request, entry)

    def after(self, response: httpx.Response) -> httpx.Response | None:
        """The stored answer refreshed by a 304 (the caller closes ``response``), else ``None``:
        the caller reads the new answer, and stores it when :meth:`wanted` says so."""
        cache, request, entry = self.cache, self.request, self.entry
        if entry is None:
            return None
        cache._discard(request, entry)
        if response.status_code != 304:
            return None
        updated = _updated(entry, response, self.sent_at)
        cache._store(request, updated)
        return _served(updated, request, "revalidated", updated.received)

    def wanted(self, response: httpx.Response) -> bool:
        """Whether the answer may be stored, judged from its headers before reading it."""
        if response.status_code not in _STORABLE_STATUSES:
            response.extensions[CACHE_STATUS] = "miss"
            return False
        length = response.headers.get("content-length")
        fits = length is None or (length.isdigit() and int(length) <= self.cache.max_body_bytes)
        if not fits:
            response.extensions[CACHE_STATUS] = "miss"
        return fits

    def too_big(self, size: int) -> bool:
        return size > self.cache.max_body_bytes

    def store(self, response: httpx.Response, body: bytes) -> httpx.Response:
        """The answer, read whole as ``body``, stored if HTTP allows it."""
        entry = _entry_for(self.request, response, body, self.sent_at)
        if entry is not None:
            self.cache._store(self.request, entry)
        return _rebuilt(response, self.request, httpx.ByteStream(body), "miss")

    def passed(self, response: httpx.Response) -> httpx.Response:
        """After a request the cache does not take: a successful unsafe one drops its URL."""
        if self.request.method not in _SAFE_METHODS and response.status_code < 400:
            self.cache._invalidate(self.request.url)
        return response


class CachingTransport(httpx.BaseTransport):
    """``transport`` with :class:`HTTPCache` in front of it (what ``cache=`` builds)."""

    def __init__(self, transport: httpx.BaseTransport, cache: HTTPCache) -> None:
        self.transport = transport
        self.cache = cache

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        exchange = _Exchange(self.cache, request)
        if _bypasses(request):
            return exchange.passed(self.transport.handle_request(request))
        planned = exchange.before()
        if isinstance(planned, httpx.Response):
            return planned
        response = self.transport.handle_request(planned)
        refreshed = exchange.after(response)
        if refreshed is not None:
            response.close()
            return refreshed
        if not exchange.wanted(response):
            return response
        chunks: list[bytes] = []
        size = 0
        stream = response.stream
        assert isinstance(stream, httpx.SyncByteStream)
        iterator = iter(stream)
        for chunk in iterator:
            chunks.append(chunk)
            size += len(chunk)
            if exchange.too_big(size):
                return _rebuilt(response, request, _Rest(chunks, iterator, response), "miss")
        response.close()
        return exchange.store(response, b"".join(chunks))

    def close(self) -> None:
        self.transport.close()


class AsyncCachingTransport(httpx.AsyncBaseTransport):
    """The async twin of :class:`CachingTransport`."""

    def __init__(self, transport: httpx.AsyncBaseTransport, cache: HTTPCache) -> None:
        self.transport = transport
        self.cache = cache

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        exchange = _Exchange(self.cache, request)
        if _bypasses(request):
            return exchange.passed(await self.transport.handle_async_request(request))
        planned = exchange.before()
        if isinstance(planned, httpx.Response):
            return planned
        response = await self.transport.handle_async_request(planned)
        refreshed = exchange.after(response)
        if refreshed is not None:
            await response.aclose()
            return refreshed
        if not exchange.wanted(response):
            return response
        chunks: list[bytes] = []
        size = 0
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)
        iterator = aiter(stream)
        async for chunk in iterator:
            chunks.append(chunk)
            size += len(chunk)
            if exchange.too_big(size):
                return _rebuilt(response, request, _AsyncRest(chunks, iterator, response), "miss")
        await response.aclose()
        return exchange.store(response, b"".join(chunks))

    async def aclose(self) -> None:
        await self.transport.aclose()
