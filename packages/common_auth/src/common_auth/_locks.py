"""Locks that let one refresh happen at a time, from threads and from asyncio tasks alike.

A cache shared by a sync and an async code path needs a thread lock for the first and an
`asyncio.Lock` for the second; an `asyncio.Lock` belongs to one event loop, so one is kept per
running loop (weakly, so that closed loops are forgotten). `KeyedLocks` and `AsyncKeyedLocks`
do the same per key (one introspection per token however many requests carry it).
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager


class LoopLocks:
    """One `asyncio.Lock` per running event loop, created on first use."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def for_running_loop(self) -> asyncio.Lock:
        """The lock of the event loop this coroutine runs on."""
        loop = asyncio.get_running_loop()
        with self._guard:
            lock = self._locks.get(loop)
            if lock is None:
                lock = self._locks[loop] = asyncio.Lock()
            return lock


class KeyedLocks:
    """A thread lock per key, made on first use and dropped once nobody holds or awaits it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, list[int]]] = {}

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.setdefault(key, (threading.Lock(), [0]))
            users[0] += 1
        try:
            with lock:
                yield
        finally:
            with self._guard:
                users[0] -= 1
                if users[0] == 0:
                    del self._locks[key]


class AsyncKeyedLocks:
    """An `asyncio.Lock` per key and per running loop, dropped once nobody holds or awaits it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._loops: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[str, tuple[asyncio.Lock, list[int]]]
        ] = weakref.WeakKeyDictionary()

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        with self._guard:
            locks = self._loops.setdefault(loop, {})
        # Only this loop's thread touches `locks` from here on.
        lock, users = locks.setdefault(key, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                del locks[key]
