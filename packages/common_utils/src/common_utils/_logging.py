"""Logging glue: a filter that stamps the request context on records, and a JSON formatter.

Attach ``RequestContextLogFilter`` to a handler and every record carries ``request_id`` (``None``
outside a request context) and the ``trace_id`` and ``span_id`` of OpenTelemetry's current span
(``None`` when there is no valid one), so plain formats can use ``%(request_id)s``.
``JsonLogFormatter`` writes one JSON object per line for production log pipelines; it includes the
context even without the filter.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from common_utils._context import current_request_context
from common_utils._tracing import span_ids

_CONTEXT_FIELDS = ("request_id", "trace_id", "span_id")
# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is logged.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "taskName", *_CONTEXT_FIELDS}
)


def _stamp(record: logging.LogRecord) -> None:
    ctx = current_request_context()
    record.request_id = None if ctx is None else ctx.request_id
    # The span current where the line is logged: a span opened inside the request is named,
    # not only the request's own.
    ids = span_ids()
    record.trace_id = None if ids is None else ids[0]
    record.span_id = None if ids is None else ids[1]


class RequestContextLogFilter(logging.Filter):
    """Add the current ``request_id`` and OpenTelemetry ``trace_id`` and ``span_id`` to each record.

    It never drops a record. A value already on the record (set with ``extra=``) is kept.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Stamp the record and let it through."""
        if not hasattr(record, "request_id"):
            _stamp(record)
        return True


class JsonLogFormatter(logging.Formatter):
    """Format each record as one line of JSON with its time, level, logger, message and context.

    Fields passed with ``extra=`` are included; values JSON cannot encode are written with
    ``str()``. Exceptions and stacks go in ``exc_info`` / ``stack_info`` as text.
    """

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as a JSON object on one line."""
        if not hasattr(record, "request_id"):
            _stamp(record)
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in _CONTEXT_FIELDS:
            payload[field] = getattr(record, field, None)
        payload.update(
            (key, value)
            for key, value in vars(record).items()
            if key not in _STANDARD_ATTRS and not key.startswith("_")
        )
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            payload["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


# Loggers that say too much at INFO for a service's log: httpx and httpcore write every URL in
# full (query strings with tokens included).
QUIET_LOGGERS: dict[str, str] = {"httpx": "WARNING", "httpcore": "WARNING"}


def json_logging(
    level: str = "INFO", *, loggers: dict[str, str] | None = None, stream: str = "ext://sys.stderr"
) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` (Django's ``LOGGING``): one JSON object per line on
    ``stream``, each carrying the request context; the root logger at ``level``.

    ``loggers`` maps logger names to levels, on top of ``QUIET_LOGGERS``. An unknown level is a
    ``ValueError`` naming it, raised here rather than deep inside ``dictConfig``.
    """
    levels = {**QUIET_LOGGERS, **(loggers or {})}
    for name, value in {"level": level, **levels}.items():
        if not isinstance(logging.getLevelName(str(value).upper()), int):
            raise ValueError(f"json_logging: {name}={value!r} is not a logging level")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_context": {"()": "common_utils.RequestContextLogFilter"}},
        "formatters": {"json": {"()": "common_utils.JsonLogFormatter"}},
        "handlers": {
            "json": {
                "class": "logging.StreamHandler",
                "stream": stream,
                "filters": ["request_context"],
                "formatter": "json",
            }
        },
        "root": {"handlers": ["json"], "level": level.upper()},
        "loggers": {name: {"level": value.upper()} for name, value in levels.items()},
    }
