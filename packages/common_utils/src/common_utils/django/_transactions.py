"""Transactions on the right database.

Django's ``transaction.atomic()`` and ``transaction.on_commit()`` use the ``default`` alias unless
told otherwise: with one database per app that silently opens a transaction on the wrong database
and the writes it was meant to protect run in autocommit. These helpers take the alias from the
router's mapping instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, router, transaction
from django.db.models import Model

from common_utils._errors import DatabaseConfigError


def database_for(target: type[Model] | Model | str) -> str:
    """Return the primary alias for a model, instance or ``"app_label"`` (the router decides).

    A string with no mapping raises ``DatabaseConfigError``: guessing ``default`` is the trap
    this function exists to avoid.
    """
    if isinstance(target, str):
        from common_utils.django._router import alias_for_app

        alias = alias_for_app(target)
        if alias is None:
            raise DatabaseConfigError(
                f"app {target!r} is not mapped in COMMON_UTILS['DATABASE_APPS']"
            )
        return alias
    model = target if isinstance(target, type) else type(target)
    return router.db_for_write(model) or DEFAULT_DB_ALIAS


def atomic_for(target: type[Model] | Model | str, *, savepoint: bool = True) -> Any:
    """``transaction.atomic()`` on the database of a model, instance or app label."""
    return transaction.atomic(using=database_for(target), savepoint=savepoint)


def on_commit_for(
    target: type[Model] | Model | str, func: Callable[[], object], *, robust: bool = False
) -> None:
    """``transaction.on_commit()`` on the database of a model, instance or app label.

    Note that an ``on_commit`` callback is lost if the process dies after the commit: for a
    message that must not be lost, use ``publish()`` (the outbox) instead.
    """
    transaction.on_commit(func, using=database_for(target), robust=robust)
