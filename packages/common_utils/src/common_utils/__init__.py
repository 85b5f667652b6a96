"""common-utils: the shared base of the Commons services.

The public API is what this module exports; modules whose names start with ``_`` are private.
The map:

- request context (``_context``): ``request_context``, ``get_request_id``,
  ``current_request_context``, ``outgoing_headers``, ``lenient_request_context`` (from values
  received from outside: never raises), ``use_request_context`` and the httpx hooks
  (``_httpx_hooks``);
- logging (``_logging``): ``RequestContextLogFilter``, ``JsonLogFormatter``, ``json_logging``
  (a ``LOGGING`` setting);
- events (``_events``): ``Envelope`` (CloudEvents 1.0), ``event_type``, ``new_event``,
  ``parse_event``, ``EventRegistry`` and the process-wide ``events`` registry;
- settings from the environment (``_environment``): ``EnvironmentSettings`` and the
  ``Words``, ``Duration`` and ``Url`` field types;
- problem details, RFC 9457 (``_problems``): ``Problem`` (its ``MEDIA_TYPE``),
  ``problem_type``, ``status_title``;
- errors (``_errors``): one tree under ``CommonUtilsError``.

The trace itself is OpenTelemetry's (``opentelemetry-api``; ``_tracing`` holds the glue): the
request context reads and writes it with OpenTelemetry's propagator and the logs name its current
span. ``records_spans`` (``_tracing``) answers whether a tracer provider that records spans is
set, without the API's per-call environment lookup: a library skips its spans when none is.

Every client of every service imports this module for the request id, so importing it stays
cheap: the request context and the errors load at once (standard library only); the event
envelopes (pydantic), the logging glue and the httpx hooks load on first use of one of their
names (PEP 562), and OpenTelemetry's API on the first trace read or written. Type checkers see
every name as a plain import.

Django glue lives in ``common_utils.django``; events through the outbox, the relay, the broker
and consumers (Celery) in ``common_utils.django.events``; an OTLP/HTTP receiver for tests of
what a service exports in ``common_utils.testing`` (the ``tracing`` extra).
"""

from typing import TYPE_CHECKING

from common_utils.__about__ import __version__
from common_utils._context import (
    RequestContext,
    current_request_context,
    get_request_id,
    lenient_request_context,
    new_request_id,
    outgoing_headers,
    parse_traceparent,
    request_context,
    use_request_context,
)
from common_utils._errors import (
    BoundariesError,
    BoundariesInputError,
    CommonUtilsError,
    DatabaseConfigError,
    EnvironmentSettingsError,
    EventConfigError,
    EventError,
    EventRegistrationError,
    InvalidEventError,
    InvalidRequestIdError,
    InvalidTraceparentError,
    MissingExtraError,
    NoTransactionError,
    OutboxError,
    ReplayError,
    TracingConfigError,
    UnknownEventTypeError,
)
from common_utils._problems import Problem, problem_type, status_title

if TYPE_CHECKING:
    from common_utils._environment import Duration, EnvironmentSettings, Url, Words
    from common_utils._events import (
        Envelope,
        EventRegistry,
        event_type,
        events,
        new_event,
        parse_event,
    )
    from common_utils._httpx_hooks import async_httpx_request_hook, httpx_request_hook
    from common_utils._logging import JsonLogFormatter, RequestContextLogFilter, json_logging
    from common_utils._tracing import records_spans

__all__ = [
    "BoundariesError",
    "BoundariesInputError",
    "CommonUtilsError",
    "DatabaseConfigError",
    "Duration",
    "Envelope",
    "EnvironmentSettings",
    "EnvironmentSettingsError",
    "EventConfigError",
    "EventError",
    "EventRegistrationError",
    "EventRegistry",
    "InvalidEventError",
    "InvalidRequestIdError",
    "InvalidTraceparentError",
    "JsonLogFormatter",
    "MissingExtraError",
    "NoTransactionError",
    "OutboxError",
    "Problem",
    "ReplayError",
    "RequestContext",
    "RequestContextLogFilter",
    "TracingConfigError",
    "UnknownEventTypeError",
    "Url",
    "Words",
    "__version__",
    "async_httpx_request_hook",
    "current_request_context",
    "event_type",
    "events",
    "get_request_id",
    "httpx_request_hook",
    "json_logging",
    "lenient_request_context",
    "new_event",
    "new_request_id",
    "outgoing_headers",
    "parse_event",
    "parse_traceparent",
    "problem_type",
    "records_spans",
    "request_context",
    "status_title",
    "use_request_context",
]

# Name -> the private module that defines it, imported on first access.
_LAZY = {
    "Duration": "common_utils._environment",
    "EnvironmentSettings": "common_utils._environment",
    "Url": "common_utils._environment",
    "Words": "common_utils._environment",
    "Envelope": "common_utils._events",
    "EventRegistry": "common_utils._events",
    "event_type": "common_utils._events",
    "events": "common_utils._events",
    "new_event": "common_utils._events",
    "parse_event": "common_utils._events",
    "async_httpx_request_hook": "common_utils._httpx_hooks",
    "httpx_request_hook": "common_utils._httpx_hooks",
    "JsonLogFormatter": "common_utils._logging",
    "RequestContextLogFilter": "common_utils._logging",
    "json_logging": "common_utils._logging",
    "records_spans": "common_utils._tracing",
}

# Hidden from type checkers, which would otherwise accept any attribute of this module.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> object:
        module_name = _LAZY.get(name)
        if module_name is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        from importlib import import_module

        value = getattr(import_module(module_name), name)
        globals()[name] = value  # later lookups find it without coming here
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__})
