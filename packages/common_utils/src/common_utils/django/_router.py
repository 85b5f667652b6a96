"""The database router: each app's reads, writes and migrations go to the alias it is mapped to.

Enable it with ``DATABASE_ROUTERS = ["common_utils.django.AppDatabaseRouter"]`` and map apps in
``COMMON_UTILS["DATABASE_APPS"]``. Relations between objects of different databases are refused.
Reads go to a read replica when ``COMMON_UTILS["READ_REPLICAS"]`` lists one, except after a write
to that database in the same request or task: then they are pinned to the primary, so a request
reads what it wrote. The pin lives in a contextvar (safe under ASGI), and
``RequestContextMiddleware`` (or ``pinning_scope()``) scopes it to one request.

The ``common_utils`` app itself (the outbox and the processed-event table) is migrated into every
primary database, because an outbox row must be written in the business data's own database.
"""

from __future__ import annotations

import contextvars
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.models import Model

from common_utils.django._settings import get_settings

COMMON_UTILS_APP_LABEL = "common_utils"

_pinned: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar(
    "common_utils_pinned_databases", default=frozenset()
)


@contextmanager
def pinning_scope() -> Iterator[None]:
    """Start with no database pinned, and forget the pins made inside when the block ends."""
    token = _pinned.set(frozenset())
    try:
        yield
    finally:
        _pinned.reset(token)


def pin_to_primary(alias: str) -> None:
    """Send this context's reads of ``alias``'s apps to the primary, not a replica."""
    _pinned.set(_pinned.get() | {alias})


def pinned_databases() -> frozenset[str]:
    """Return the aliases whose reads are pinned to the primary in this context."""
    return _pinned.get()


def alias_for_app(app_label: str) -> str | None:
    """Return the alias ``app_label`` is mapped to, or ``None`` if it is not mapped."""
    return get_settings().DATABASE_APPS.get(app_label)


def alias_for_model(model: type[Model] | Model) -> str | None:
    """Return the primary alias of a model's app, or ``None`` if the app is not mapped."""
    return alias_for_app(model._meta.app_label)


class AppDatabaseRouter:
    """A Django database router driven by ``COMMON_UTILS["DATABASE_APPS"]``."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        """The app's replica (unless pinned) or primary; ``None`` for an unmapped app."""
        instance = hints.get("instance")
        if instance is not None and instance._state.db is not None:
            # Follow the instance a related lookup starts from.
            return str(instance._state.db)
        alias = alias_for_model(model)
        if alias is None:
            return None
        replicas = get_settings().READ_REPLICAS.get(alias)
        if replicas and alias not in _pinned.get():
            return random.choice(replicas)  # noqa: S311 - load spreading, not security
        return alias

    def db_for_write(self, model: type[Model], **hints: Any) -> str | None:
        """The app's primary, which also pins this context's reads of it to the primary."""
        alias = alias_for_model(model)
        if alias is not None:
            pin_to_primary(alias)
        return alias

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        """Allow a relation only between objects that live in the same database."""
        db1 = obj1._state.db or alias_for_model(obj1)
        db2 = obj2._state.db or alias_for_model(obj2)
        if db1 is None or db2 is None:
            return None
        return _primary_of(db1) == _primary_of(db2)

    def allow_migrate(
        self, db: str, app_label: str, model_name: str | None = None, **hints: Any
    ) -> bool | None:
        """Migrate an app into its own alias only, ``common_utils`` into every primary."""
        conf = get_settings()
        if db in _replica_aliases():
            return False
        if app_label == COMMON_UTILS_APP_LABEL:
            return True
        alias = conf.DATABASE_APPS.get(app_label)
        if alias is None:
            return None
        return db == alias


def _replica_aliases() -> set[str]:
    return {replica for replicas in get_settings().READ_REPLICAS.values() for replica in replicas}


def _primary_of(alias: str) -> str:
    for primary, replicas in get_settings().READ_REPLICAS.items():
        if alias in replicas:
            return primary
    return alias
