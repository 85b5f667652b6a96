"""Locks that let one refresh happen at a time, from threads and from asyncio tasks alike.

A cache shared by a sync and an async code path needs a thread lock for the first and an
`asyncio.Lock` for the second; an `asyncio.Lock` belongs to one event loop, so one is kept per
running loop (weakly, so that closed loops are forgotten).
"""

from __future__ import annotations

import asyncio
import threading
import weakref


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
