"""common-utils: the shared base of the Commons services.

The public API is what this module exports; modules whose names start with ``_`` are private.
The map:

- request context (``_context``): ``request_context``, ``get_request_id``,
  ``current_request_context``, ``outgoing_headers`` and the httpx hooks (``_httpx_hooks``);
- logging (``_logging``): ``RequestContextLogFilter``, ``JsonLogFormatter``;
- events (``_events``): ``Envelope`` (CloudEvents 1.0), ``event_type``, ``new_event``,
  ``parse_event``, ``EventRegistry`` and the process-wide ``events`` registry;
- errors (``_errors``): one tree under ``CommonUtilsError``.

Django glue lives in ``common_utils.django``, Celery glue in ``common_utils.celery``.
"""

from common_utils.__about__ import __version__
from common_utils._context import (
    RequestContext,
    current_request_context,
    get_request_id,
    new_request_id,
    outgoing_headers,
    parse_traceparent,
    request_context,
)
from common_utils._errors import (
    CommonUtilsError,
    DatabaseConfigError,
    EventError,
    EventRegistrationError,
    InvalidEventError,
    InvalidRequestIdError,
    InvalidTraceparentError,
    NoTransactionError,
    OutboxError,
    UnknownEventTypeError,
)
from common_utils._events import (
    Envelope,
    EventRegistry,
    event_type,
    events,
    new_event,
    parse_event,
)
from common_utils._httpx_hooks import async_httpx_request_hook, httpx_request_hook
from common_utils._logging import JsonLogFormatter, RequestContextLogFilter

__all__ = [
    "CommonUtilsError",
    "DatabaseConfigError",
    "Envelope",
    "EventError",
    "EventRegistrationError",
    "EventRegistry",
    "InvalidEventError",
    "InvalidRequestIdError",
    "InvalidTraceparentError",
    "JsonLogFormatter",
    "NoTransactionError",
    "OutboxError",
    "RequestContext",
    "RequestContextLogFilter",
    "UnknownEventTypeError",
    "__version__",
    "async_httpx_request_hook",
    "current_request_context",
    "event_type",
    "events",
    "get_request_id",
    "httpx_request_hook",
    "new_event",
    "new_request_id",
    "outgoing_headers",
    "parse_event",
    "parse_traceparent",
    "request_context",
]
