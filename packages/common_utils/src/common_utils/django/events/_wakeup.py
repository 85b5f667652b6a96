"""How the relay learns of new outbox rows: LISTEN/NOTIFY on PostgreSQL, its poll elsewhere.

``publish()`` sends ``NOTIFY common_utils_outbox`` in the transaction that writes the row, so
PostgreSQL delivers the notification when (and only if) that transaction commits. The relay's
``Wakeup`` listens on one connection of its own per PostgreSQL outbox and sleeps in ``select()``
on their sockets and on a self-pipe, so a commit, ``wake()`` (from a signal handler too) or the
poll interval, whichever comes first, ends the wait. Databases without LISTEN (SQLite), a driver
other than psycopg 3 or a listening connection that broke fall back to polling, and the broken
connection is opened again on the next wait.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
from typing import Any

from django.db import connections

NOTIFY_CHANNEL = "common_utils_outbox"
"""The PostgreSQL channel ``publish()`` notifies on commit and the relay listens to."""

logger = logging.getLogger("common_utils.events")


def notify_relays(alias: str) -> None:
    """Queue a notification to the relays in ``alias``'s open transaction (PostgreSQL only).

    PostgreSQL sends it on commit and drops it on rollback, and folds identical notifications of
    one transaction into one, so calling it once per event costs one statement and no more wakes.
    """
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, '')", [NOTIFY_CHANNEL])


class Wakeup:
    """Waits for an outbox commit on any of ``aliases``, a ``wake()``, or the poll interval."""

    def __init__(self, aliases: list[str]) -> None:
        self.aliases = [alias for alias in aliases if connections[alias].vendor == "postgresql"]
        self._listeners: dict[str, Any] = {}
        self._read_end, self._write_end = os.pipe()
        os.set_blocking(self._read_end, False)
        os.set_blocking(self._write_end, False)

    @property
    def listening(self) -> list[str]:
        """The aliases whose commits wake the relay now (the rest are polled)."""
        return sorted(self._listeners)

    def wake(self) -> None:
        """End the current or next wait at once; safe to call from a signal handler."""
        # A full pipe has a wake pending already; a closed one belongs to a relay that is done.
        with contextlib.suppress(OSError):
            os.write(self._write_end, b"!")

    def listen(self) -> None:
        """Open a listening connection for each PostgreSQL alias that has none (or lost it)."""
        for alias in self.aliases:
            if alias in self._listeners:
                continue
            try:
                self._listeners[alias] = _listen(alias)
            except Exception as exc:
                logger.warning("listening for outbox commits on %r failed, polling: %s", alias, exc)

    def wait(self, timeout: float) -> bool:
        """Sleep until a commit, a ``wake()`` or ``timeout``; return whether something woke it."""
        self.listen()
        sockets = {listener.pgconn.socket: alias for alias, listener in self._listeners.items()}
        try:
            ready, _, _ = select.select([self._read_end, *sockets], [], [], timeout)
        except (OSError, ValueError):  # a listener's socket closed under us
            ready = list(sockets)
        for fd in ready:
            if fd == self._read_end:
                _drain_pipe(self._read_end)
            else:
                self._consume(sockets[fd])
        return bool(ready)

    def _consume(self, alias: str) -> None:
        listener = self._listeners[alias]
        try:
            listener.pgconn.consume_input()
            while listener.pgconn.notifies() is not None:
                pass
        except Exception as exc:
            logger.warning(
                "the outbox listener on %r broke, polling until it is back: %s", alias, exc
            )
            self._close(alias)

    def _close(self, alias: str) -> None:
        listener = self._listeners.pop(alias, None)
        if listener is not None:
            try:
                listener.close()
            except Exception:
                logger.debug("closing an outbox listener failed", exc_info=True)

    def close(self) -> None:
        """Close the listening connections and the pipe."""
        for alias in list(self._listeners):
            self._close(alias)
        for fd in (self._read_end, self._write_end):
            with contextlib.suppress(OSError):
                os.close(fd)


def _listen(alias: str) -> Any:
    """A new autocommit psycopg 3 connection to ``alias`` that listens on ``NOTIFY_CHANNEL``."""
    import psycopg

    connection = connections[alias]
    params = dict(connection.get_connection_params())
    params.pop("cursor_factory", None)
    params.pop("context", None)
    listener = psycopg.Connection.connect(**params, autocommit=True)
    try:
        listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
    except Exception:
        listener.close()
        raise
    return listener


def _drain_pipe(fd: int) -> None:
    with contextlib.suppress(OSError):  # BlockingIOError once it is empty
        while os.read(fd, 512):
            pass
