"""The ``COMMON_UTILS`` Django setting, read into a typed object once.

Keys (all optional)::

    COMMON_UTILS = {
        # app label -> database alias: the app's reads, writes and migrations go there.
        "DATABASE_APPS": {"auth": "default", "contenttypes": "default", "orders": "orders"},
        # primary alias -> read replica aliases; reads go to a replica unless pinned.
        "READ_REPLICAS": {"orders": ["orders_replica"]},
        # "module:attribute" or "module.attribute" of the Celery app the outbox relay and the
        # readiness check use (defaults to Celery's current app).
        "CELERY_APP": "orders_service.celery:app",
        "HEALTH_TIMEOUT": 2.0,            # seconds per readiness check
        "OUTBOX_BATCH_SIZE": 100,         # rows a relay claims per transaction
        "OUTBOX_MAX_ATTEMPTS": 10,        # failed publishes before a row is parked
        "OUTBOX_BACKOFF": 1.0,            # first retry delay in seconds, doubled per attempt
        "OUTBOX_MAX_BACKOFF": 300.0,
        # seconds a relay holds the rows it claimed on a database without SKIP LOCKED (SQLite)
        # before another relay may take them: longer than publishing one batch takes.
        "OUTBOX_CLAIM_TIMEOUT": 60.0,
        "EVENT_EXCHANGE": "commons.events",
        # events per broker message (1: one each, what every consumer version reads); more sends
        # a relay batch's events of one type together, handled in one transaction per message.
        # Raise it once every consumer runs common-utils 0.4 or later.
        "EVENT_DELIVERY_BATCH": 100,
        # readiness fails past these (each unset by default: the counts are shown, never judged)
        "BACKLOG_MAX_PENDING": 10000,         # outbox rows not yet published
        "BACKLOG_MAX_PENDING_AGE": 60.0,      # seconds since the oldest pending row was written
        "BACKLOG_MAX_PARKED": 0,              # outbox rows parked after OUTBOX_MAX_ATTEMPTS
        "BACKLOG_MAX_DEAD_LETTERS": 0,        # dead letters not yet replayed
        # IdempotencyMiddleware: how long a response is kept for repeats of its key (seconds),
        "IDEMPOTENCY_TTL": 86400.0,
        # the largest response body kept (a larger one is recorded without it),
        "IDEMPOTENCY_MAX_RESPONSE_BYTES": 1048576,
        # how long a duplicate waits for the first request in flight before a 409 (PostgreSQL),
        "IDEMPOTENCY_WAIT": 10.0,
        # where the records are written (default: where the router puts common_utils' tables),
        "IDEMPOTENCY_DATABASE": "default",
        # who the caller is: "module:function" taking the request, returning a str or None.
        "IDEMPOTENCY_CALLER": None,
    }
"""

from __future__ import annotations

from typing import Any

import pydantic
from django.conf import settings

from common_utils._errors import DatabaseConfigError


class CommonUtilsSettings(pydantic.BaseModel):
    """The validated ``COMMON_UTILS`` setting."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    DATABASE_APPS: dict[str, str] = {}
    READ_REPLICAS: dict[str, list[str]] = {}
    CELERY_APP: str | None = None
    HEALTH_TIMEOUT: float = pydantic.Field(default=2.0, gt=0)
    OUTBOX_BATCH_SIZE: int = pydantic.Field(default=100, ge=1)
    OUTBOX_MAX_ATTEMPTS: int = pydantic.Field(default=10, ge=1)
    OUTBOX_BACKOFF: float = pydantic.Field(default=1.0, ge=0)
    OUTBOX_MAX_BACKOFF: float = pydantic.Field(default=300.0, ge=0)
    OUTBOX_CLAIM_TIMEOUT: float = pydantic.Field(default=60.0, gt=0)
    EVENT_EXCHANGE: str = pydantic.Field(default="commons.events", min_length=1)
    EVENT_DELIVERY_BATCH: int = pydantic.Field(default=1, ge=1, le=1000)
    BACKLOG_MAX_PENDING: int | None = pydantic.Field(default=None, ge=0)
    BACKLOG_MAX_PENDING_AGE: float | None = pydantic.Field(default=None, ge=0)
    BACKLOG_MAX_PARKED: int | None = pydantic.Field(default=None, ge=0)
    BACKLOG_MAX_DEAD_LETTERS: int | None = pydantic.Field(default=None, ge=0)
    IDEMPOTENCY_TTL: float = pydantic.Field(default=86400.0, gt=0)
    IDEMPOTENCY_MAX_RESPONSE_BYTES: int = pydantic.Field(default=1024 * 1024, ge=0)
    IDEMPOTENCY_WAIT: float = pydantic.Field(default=10.0, ge=0)
    IDEMPOTENCY_DATABASE: str | None = pydantic.Field(default=None, min_length=1)
    IDEMPOTENCY_CALLER: str | None = pydantic.Field(default=None, min_length=1)


def get_settings() -> CommonUtilsSettings:
    """Return the validated ``COMMON_UTILS`` setting; raise ``DatabaseConfigError`` if invalid."""
    raw: Any = getattr(settings, "COMMON_UTILS", {})
    try:
        return CommonUtilsSettings.model_validate(raw)
    except pydantic.ValidationError as exc:
        problems = "; ".join(
            f"COMMON_UTILS[{']['.join(repr(p) for p in err['loc'])}]: {err['msg']}"
            for err in exc.errors()
        )
        raise DatabaseConfigError(f"invalid COMMON_UTILS setting: {problems}") from None
