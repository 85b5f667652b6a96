"""Recording, while a test suite runs, every statement and transaction that ties two apps' tables.

A ``QueryRecorder`` sits in each connection's ``execute_wrappers`` (Django's own hook, on every
connection of every thread). A statement is kept when it touches the tables of two apps (a join,
or a subquery); a transaction when it writes the tables of two apps. Each is kept once per SQL
text, with how often it ran and up to five call sites: the first frame outside Django, Commons,
the test tools and installed libraries. Statements with no such frame (creating the test
database, flushing it) are framework work and are not kept.

The recording is a JSON file that ``manage.py boundaries`` reads; it names tables, not services,
so one recording serves any services map.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from django.apps import apps
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created

from common_utils.django.boundaries._code import (
    display_path,
    is_framework_module,
    is_library_file,
)
from common_utils.django.boundaries._files import write_atomically
from common_utils.django.boundaries._sql import read_statement

RECORD_FORMAT = "commons-boundaries-queries"
RECORD_VERSION = 1
DEFAULT_RECORD = Path("boundaries-queries.json")
MAX_SQL_CHARS = 4000
MAX_SITES = 5
MAX_ENTRIES = 20_000  # distinct statements kept; beyond that they are only counted
_CACHE_SIZE = 50_000
_TRANSACTION_CONTROL = (
    "SAVEPOINT",
    "RELEASE SAVEPOINT",
    "ROLLBACK TO SAVEPOINT",
    "BEGIN",
    "COMMIT",
)


@dataclass
class _Entry:
    kind: str
    tables: tuple[str, ...]
    subquery_tables: tuple[str, ...]
    sql: str
    count: int = 0
    sites: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Reading:
    """A statement read against the project's tables (cached per SQL text)."""

    apps: frozenset[str]
    crosses_apps: bool  # tables of two apps or more: a tie whenever it runs
    top: tuple[str, ...]
    nested: tuple[str, ...]
    written_table: str | None
    written_app: str | None


@dataclass
class _Transaction:
    marker: tuple[int, str | None]
    writes: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # app -> table, sql, site


def table_owners() -> dict[str, str]:
    """Each model table (auto-created many-to-many tables included) -> its app label."""
    owners: dict[str, str] = {}
    for model in apps.get_models(include_auto_created=True):
        if not model._meta.proxy:
            owners.setdefault(model._meta.db_table, model._meta.app_label)
    return owners


class QueryRecorder:
    """Keeps the statements and transactions that touch the tables of two apps; see the module.

    ``start()`` instruments every connection, ``stop()`` removes it and writes ``path``. Use it
    as a context manager, or through ``record_queries()``, the pytest plugin or the test runner.
    """

    def __init__(self, path: Path | str = DEFAULT_RECORD) -> None:
        """Record into ``path`` (written when the recorder stops)."""
        self.path = Path(path)
        self.statements = 0  # statements seen while recording
        self.dropped = 0  # kept statements beyond MAX_ENTRIES, counted only
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._lock = threading.Lock()
        self._paused = 0
        self._instrumented: list[BaseDatabaseWrapper] = []
        self._owners: dict[str, str] = {}
        self._lower: dict[str, str] = {}
        self._readings: dict[str, _Reading | None] = {}
        self._transactions: dict[int, _Transaction] = {}

    def __enter__(self) -> QueryRecorder:
        """Start recording."""
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop recording and write the file."""
        self.stop()

    def start(self) -> None:
        """Build the table map and instrument every connection (and each one made later)."""
        self._owners = table_owners()
        self._lower = {table.lower(): table for table in self._owners}
        for alias in connections:
            self._instrument(connections[alias])
        connection_created.connect(self._on_connection_created, weak=False)

    def stop(self) -> None:
        """Remove the instrumentation and write the recording."""
        connection_created.disconnect(self._on_connection_created)
        for connection in self._instrumented:
            if self in connection.execute_wrappers:
                connection.execute_wrappers.remove(self)
        self._instrumented.clear()
        self.write()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Statements run inside are not recorded (creating the test databases, for instance)."""
        self._paused += 1
        try:
            yield
        finally:
            self._paused -= 1

    def _on_connection_created(
        self, sender: Any, connection: BaseDatabaseWrapper, **_: Any
    ) -> None:
        self._instrument(connection)

    def _instrument(self, connection: BaseDatabaseWrapper) -> None:
        if self not in connection.execute_wrappers:
            connection.execute_wrappers.append(self)
            with self._lock:
                self._instrumented.append(connection)

    def __call__(
        self,
        execute: Callable[..., Any],
        sql: str,
        params: Any,
        many: bool,
        context: dict[str, Any],
    ) -> Any:
        """The execute wrapper: run the statement, then look at it."""
        result = execute(sql, params, many, context)
        if not self._paused:
            self._observe(sql, context["connection"])
        return result

    def _observe(self, sql: str, connection: BaseDatabaseWrapper) -> None:
        # Every statement of the suite passes here: the common cases (transaction control, a
        # statement already read and touching at most one app outside a transaction) return
        # after a prefix test and one dictionary lookup.
        self.statements += 1
        if sql.startswith(_TRANSACTION_CONTROL):
            return  # savepoint names differ each time: not worth reading or caching
        in_transaction = connection.in_atomic_block
        if not in_transaction and self._transactions:
            self._transactions.pop(id(connection), None)
        try:
            reading = self._readings[sql]
        except KeyError:
            reading = self._read(sql)
        if reading is None:
            return
        if reading.crosses_apps:
            site = call_site()
            if site is not None:
                self._keep("query", reading.top, reading.nested, sql, site)
        if in_transaction and reading.written_app is not None:
            self._observe_write(reading, sql, connection)

    def _read(self, sql: str) -> _Reading | None:
        statement = read_statement(sql, self._lower)
        reading = None
        if statement.tables:
            written = next(iter(statement.written), None)
            reading = _Reading(
                apps=(owning := frozenset(self._owners[table] for table in statement.tables)),
                crosses_apps=len(owning) >= 2,
                top=tuple(sorted(statement.top)),
                nested=tuple(sorted(statement.nested - statement.top)),
                written_table=written,
                written_app=self._owners[written] if written is not None else None,
            )
        if len(self._readings) >= _CACHE_SIZE:
            self._readings.clear()
        self._readings[sql] = reading
        return reading

    def _observe_write(self, reading: _Reading, sql: str, connection: BaseDatabaseWrapper) -> None:
        # The transaction the code under test opened: the outermost atomic block that is not a
        # TestCase's own. Nested in a TestCase it is a savepoint, whose id tells one entry of
        # the block from the next.
        blocks = connection.atomic_blocks
        index = None
        for position, block in enumerate(blocks):
            if not getattr(block, "_from_testcase", False):
                index = position
                break
        if index is None:
            return  # only the TestCase's blocks: each statement commits alone in production
        block = blocks[index]
        savepoints = connection.savepoint_ids
        sid = savepoints[index - 1] if 0 < index <= len(savepoints) else None
        marker = (id(block), sid)
        state = self._transactions.get(id(connection))
        if state is None or state.marker != marker:
            state = _Transaction(marker)
            self._transactions[id(connection)] = state
        app, table = reading.written_app, reading.written_table
        assert app is not None
        assert table is not None
        if app in state.writes:
            return
        site = call_site()
        if site is None:
            return
        for other_table, other_sql, other_site in state.writes.values():
            self._keep(
                "transaction",
                tuple(sorted({other_table, table})),
                (),
                f"{other_sql};\n{sql}",
                f"{other_site} then {site}",
            )
        state.writes[app] = (table, sql, site)

    def _keep(
        self, kind: str, tables: tuple[str, ...], nested: tuple[str, ...], sql: str, site: str
    ) -> None:
        key = (kind, sql)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                if len(self._entries) >= MAX_ENTRIES:
                    self.dropped += 1
                    return
                entry = _Entry(kind, tables, nested, sql[:MAX_SQL_CHARS])
                self._entries[key] = entry
            entry.count += 1
            if len(entry.sites) < MAX_SITES and site not in entry.sites:
                entry.sites.append(site)

    def document(self) -> dict[str, Any]:
        """The recording as the JSON document ``manage.py boundaries`` reads."""
        with self._lock:
            entries = sorted(self._entries.values(), key=lambda e: (e.kind, e.tables, e.sql))
            queries = [
                {
                    "kind": entry.kind,
                    "tables": list(entry.tables),
                    "subquery_tables": list(entry.subquery_tables),
                    "sql": entry.sql,
                    "count": entry.count,
                    "sites": list(entry.sites),
                }
                for entry in entries
            ]
        return {
            "format": RECORD_FORMAT,
            "version": RECORD_VERSION,
            "statements": self.statements,
            "dropped": self.dropped,
            "queries": queries,
        }

    def write(self) -> None:
        """Write the recording to ``path`` (atomically: a reader never sees half a file)."""
        text = json.dumps(self.document(), indent=1, sort_keys=True) + "\n"
        write_atomically(self.path, text, what="query recording")


@contextmanager
def record_queries(path: Path | str = DEFAULT_RECORD) -> Iterator[QueryRecorder]:
    """Record the statements that tie two apps' tables while the block runs, into ``path``."""
    with QueryRecorder(path) as recorder:
        yield recorder


# File name -> how a call site shows it, or "" for files that are not the project's own.
_PROJECT_FILES: dict[str, str] = {}


def call_site(start: FrameType | None = None) -> str | None:
    """``path:line in function`` of the innermost frame of the project's own code, or None."""
    frame: FrameType | None = start or sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        shown = _PROJECT_FILES.get(code.co_filename)
        if shown is None:
            own = not is_library_file(code.co_filename) and not is_framework_module(
                str(frame.f_globals.get("__name__", ""))
            )
            shown = display_path(code.co_filename) if own else ""
            _PROJECT_FILES[code.co_filename] = shown
        if shown:
            return f"{shown}:{frame.f_lineno} in {code.co_name}"
        frame = frame.f_back
    return None
