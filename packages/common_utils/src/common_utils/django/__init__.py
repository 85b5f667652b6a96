"""Django glue of common-utils: routing, transactions, the outbox, middleware, health.

Add ``"common_utils.django"`` to ``INSTALLED_APPS`` (app label ``common_utils``: the outbox and
processed-event tables, the system checks, ``manage.py outbox_relay`` and
``manage.py migrate_all``),
``"common_utils.django.AppDatabaseRouter"`` to ``DATABASE_ROUTERS`` and
``"common_utils.django.RequestContextMiddleware"`` first in ``MIDDLEWARE`` (and
``"common_utils.django.IdempotencyMiddleware"`` after the authentication middleware), and the
``problem_*`` handlers as the root URLconf's ``handler400``/``403``/``404``/``500`` (errors as
RFC 9457 problem details).

``configure_tracing("<service>")`` in ``wsgi.py`` (with ``instrument_django=True``) and in the
Celery app's module turns OpenTelemetry's SDK on when the environment gives an OTLP endpoint (the
``tracing`` extra); without one it imports nothing.

Nothing here imports models at import time, so this module is safe to import from settings.
"""

from common_utils.django._databases import database_from_url, databases_from_urls
from common_utils.django._health import (
    begin_draining,
    drain_on_signals,
    is_draining,
    liveness,
    readiness,
    readiness_report,
)
from common_utils.django._idempotency import (
    IDEMPOTENCY_KEY_HEADER,
    IDEMPOTENT_REPLAYED_HEADER,
    IdempotencyMiddleware,
    purge_idempotency_records,
)
from common_utils.django._middleware import RequestContextMiddleware
from common_utils.django._problems import (
    problem_bad_request,
    problem_not_found,
    problem_permission_denied,
    problem_response,
    problem_server_error,
)
from common_utils.django._router import (
    AppDatabaseRouter,
    pin_to_primary,
    pinned_databases,
    pinning_scope,
)
from common_utils.django._settings import CommonUtilsSettings, get_settings
from common_utils.django._tracing_setup import configure_tracing, tracing_requested
from common_utils.django._transactions import atomic_for, database_for, on_commit_for
from common_utils.django.events._outbox import publish

__all__ = [
    "IDEMPOTENCY_KEY_HEADER",
    "IDEMPOTENT_REPLAYED_HEADER",
    "AppDatabaseRouter",
    "CommonUtilsSettings",
    "IdempotencyMiddleware",
    "RequestContextMiddleware",
    "atomic_for",
    "begin_draining",
    "configure_tracing",
    "database_for",
    "database_from_url",
    "databases_from_urls",
    "drain_on_signals",
    "get_settings",
    "is_draining",
    "liveness",
    "on_commit_for",
    "pin_to_primary",
    "pinned_databases",
    "pinning_scope",
    "problem_bad_request",
    "problem_not_found",
    "problem_permission_denied",
    "problem_response",
    "problem_server_error",
    "publish",
    "purge_idempotency_records",
    "readiness",
    "readiness_report",
    "tracing_requested",
]
