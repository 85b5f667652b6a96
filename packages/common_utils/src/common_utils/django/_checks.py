"""System checks that catch a database-per-app misconfiguration at start-up.

- ``common_utils.E001`` an app is mapped to an alias that is not in ``DATABASES``
- ``common_utils.E002`` an installed app with models is not mapped (it would land in ``default``)
- ``common_utils.E003`` ``auth`` and ``contenttypes`` are mapped to different databases
- ``common_utils.E004`` a model has a relation to a model in another database
- ``common_utils.E005`` a read replica is not in ``DATABASES``, or is also a primary
- ``common_utils.E006`` the ``COMMON_UTILS`` setting itself does not validate
- ``common_utils.W001`` the router is not in ``DATABASE_ROUTERS``, so the mapping has no effect

They run only when ``COMMON_UTILS["DATABASE_APPS"]`` is set: a single-database project needs none.
One more runs always:

- ``common_utils.E011`` ``IdempotencyMiddleware`` comes before an authentication middleware in
  ``MIDDLEWARE``, so it would see every caller as anonymous
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig, apps
from django.conf import settings
from django.core import checks

from common_utils._errors import DatabaseConfigError
from common_utils.django._router import COMMON_UTILS_APP_LABEL
from common_utils.django._settings import get_settings

ROUTER_PATH = "common_utils.django.AppDatabaseRouter"
IDEMPOTENCY_MIDDLEWARE_PATH = "common_utils.django.IdempotencyMiddleware"


@checks.register(checks.Tags.compatibility)
def check_idempotency_middleware_order(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """``IdempotencyMiddleware`` must come after the middleware that sets ``request.user``."""
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    if IDEMPOTENCY_MIDDLEWARE_PATH not in middleware:
        return []
    after = middleware[middleware.index(IDEMPOTENCY_MIDDLEWARE_PATH) + 1 :]
    late = [path for path in after if path.rpartition(".")[2].endswith("AuthenticationMiddleware")]
    if not late:
        return []
    return [
        checks.Error(
            f"MIDDLEWARE lists {IDEMPOTENCY_MIDDLEWARE_PATH!r} before {late[0]!r}: it would key "
            "every request as anonymous, since the caller is not known yet",
            hint=f"move {IDEMPOTENCY_MIDDLEWARE_PATH!r} after {late[0]!r}",
            id="common_utils.E011",
        )
    ]


# Tagged ``models`` only: they read settings and models, never a database. Django 6 leaves
# ``database``-tagged checks out of ``manage.py check``, ``runserver`` and the test runner unless a
# database alias is named, so that tag would switch them off where they matter.
@checks.register(checks.Tags.models)
def check_database_routing(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Check ``COMMON_UTILS["DATABASE_APPS"]`` against ``DATABASES`` and the installed apps."""
    try:
        conf = get_settings()
    except DatabaseConfigError as exc:
        return [checks.Error(str(exc), id="common_utils.E006")]
    mapping = conf.DATABASE_APPS
    if not mapping:
        return []
    errors: list[checks.CheckMessage] = []
    databases = set(settings.DATABASES)
    if ROUTER_PATH not in getattr(settings, "DATABASE_ROUTERS", []):
        errors.append(
            checks.Warning(
                "COMMON_UTILS['DATABASE_APPS'] is set but the router is not installed",
                hint=f"add {ROUTER_PATH!r} to DATABASE_ROUTERS",
                id="common_utils.W001",
            )
        )
    for app_label, alias in sorted(mapping.items()):
        if alias not in databases:
            errors.append(
                checks.Error(
                    f"app {app_label!r} is mapped to database {alias!r}, which is not in "
                    f"DATABASES (known: {sorted(databases)})",
                    id="common_utils.E001",
                )
            )
    errors.extend(_replica_errors(conf.READ_REPLICAS, mapping, databases))
    errors.extend(_unmapped_apps(mapping))
    if (
        "auth" in mapping
        and "contenttypes" in mapping
        and mapping["auth"] != mapping["contenttypes"]
    ):
        errors.append(
            checks.Error(
                f"'auth' is mapped to {mapping['auth']!r} but 'contenttypes' to "
                f"{mapping['contenttypes']!r}: permissions point at content types, and "
                "migrate creates both in one database",
                hint="map 'auth' and 'contenttypes' to the same database",
                id="common_utils.E003",
            )
        )
    errors.extend(_cross_database_relations(mapping))
    return errors


def _cross_database_relations(mapping: dict[str, str]) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for model in apps.get_models():
        source = mapping.get(model._meta.app_label)
        if source is None:
            continue
        for fld in model._meta.get_fields(include_hidden=False):
            related = getattr(fld, "related_model", None)
            if not fld.is_relation or related is None or isinstance(related, str):
                continue
            if not getattr(fld, "concrete", False) and not getattr(fld, "many_to_many", False):
                continue  # reverse accessors are reported from the other side
            target = mapping.get(related._meta.app_label)
            if target is not None and target != source:
                errors.append(
                    checks.Error(
                        f"{model._meta.label}.{fld.name} relates to {related._meta.label}, which "
                        f"lives in database {target!r}, not {source!r}: relations across "
                        "databases cannot be enforced",
                        hint="store the id as a plain field, or map both apps to one database",
                        obj=model,
                        id="common_utils.E004",
                    )
                )
    return errors


def _replica_errors(
    replicas: dict[str, list[str]], mapping: dict[str, str], databases: set[str]
) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for primary, aliases in sorted(replicas.items()):
        for replica in aliases:
            if replica not in databases or primary not in databases:
                errors.append(
                    checks.Error(
                        f"read replica {replica!r} of {primary!r}: both must be in DATABASES",
                        id="common_utils.E005",
                    )
                )
            if replica in mapping.values():
                errors.append(
                    checks.Error(
                        f"{replica!r} is a read replica and cannot be an app's primary database",
                        id="common_utils.E005",
                    )
                )
    return errors


def _unmapped_apps(mapping: dict[str, str]) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for app_config in apps.get_app_configs():
        label = app_config.label
        if label == COMMON_UTILS_APP_LABEL or label in mapping:
            continue
        if any(not m._meta.proxy and m._meta.managed for m in app_config.get_models()):
            errors.append(
                checks.Error(
                    f"app {label!r} has models but no database in COMMON_UTILS['DATABASE_APPS']",
                    hint=f"map it: COMMON_UTILS['DATABASE_APPS'][{label!r}] = '<alias>'",
                    obj=app_config,
                    id="common_utils.E002",
                )
            )
    return errors
