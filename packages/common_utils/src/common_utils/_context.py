"""The request context: a request id beside OpenTelemetry's trace context, held in contextvars.

One ``RequestContext`` is current per task or thread (contextvars, so it is safe under ASGI and
asyncio). The Django middleware, the Celery signals and ``request_context()`` set it; the log
filter, ``outgoing_headers()`` and the httpx hooks read it. The trace itself is OpenTelemetry's:
W3C ``traceparent`` values are read and written by its propagator (``common_utils._tracing``),
and the span that is current is OpenTelemetry's current span. That module is imported on first
use, so that ``import common_utils`` stays cheap (the standard library only).
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from common_utils._errors import InvalidRequestIdError, InvalidTraceparentError

if TYPE_CHECKING:
    from opentelemetry.context import Context

logger = logging.getLogger("common_utils.request")

REQUEST_ID_HEADER = "X-Request-ID"
TRACEPARENT_HEADER = "traceparent"

# Visible ASCII without spaces: safe to echo in a response header and to write in a log line.
_REQUEST_ID_RE = re.compile(r"[\x21-\x7e]{1,200}")


@dataclass(frozen=True, slots=True)
class RequestContext:
    """What identifies the current unit of work across services.

    ``request_id`` is the ``X-Request-ID`` value, the handle people search logs by.
    ``trace_context`` is the OpenTelemetry context made current with it: the caller's span taken
    from a ``traceparent``, or the request's span; ``None`` leaves OpenTelemetry's current context
    as it is (then ``trace_id``, ``span_id`` and ``traceparent`` read the current span).
    ``trace_id`` and ``span_id`` are ``None`` when there is no trace: no SDK records spans here
    and the caller sent no ``traceparent``.
    """

    request_id: str
    trace_context: Context | None = field(default=None, compare=False, repr=False)

    def _ids(self) -> tuple[str, str, int] | None:
        from common_utils import _tracing  # OpenTelemetry, imported on first use

        return _tracing.span_ids(self.trace_context)

    @property
    def trace_id(self) -> str | None:
        """The W3C trace id (32 lowercase hex digits), or ``None`` outside any trace."""
        ids = self._ids()
        return None if ids is None else ids[0]

    @property
    def span_id(self) -> str | None:
        """The span that calls made in this context descend from (16 hex digits), or ``None``."""
        ids = self._ids()
        return None if ids is None else ids[1]

    @property
    def traceparent(self) -> str | None:
        """The ``traceparent`` header to send downstream (this context's span is their parent),
        or ``None`` outside any trace."""
        ids = self._ids()
        return None if ids is None else f"00-{ids[0]}-{ids[1]}-{ids[2]:02x}"


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "common_utils_request_context", default=None
)


def new_request_id() -> str:
    """Return a fresh request id (32 lowercase hex digits)."""
    return uuid.uuid4().hex


def validate_request_id(value: str) -> str:
    """Return ``value`` if it is a usable request id, else raise ``InvalidRequestIdError``."""
    if not _REQUEST_ID_RE.fullmatch(value):
        raise InvalidRequestIdError(
            f"X-Request-ID {value[:50]!r} must be 1 to 200 visible ASCII characters without spaces"
        )
    return value


def _trace_context_of(traceparent: str) -> Context:
    from common_utils import _tracing  # OpenTelemetry, imported on first use

    ctx = _tracing.trace_context_of(traceparent)
    if ctx is None:
        raise InvalidTraceparentError(
            f"traceparent {traceparent[:80]!r} does not follow W3C trace context "
            "(version-traceid-parentid-flags in lowercase hex, ids not all zero)"
        )
    return ctx


def parse_traceparent(value: str) -> tuple[str, str, str]:
    """Split a ``traceparent`` header into ``(trace_id, parent_id, trace_flags)``.

    OpenTelemetry's W3C TraceContext propagator reads it. Raises ``InvalidTraceparentError`` for
    anything W3C trace context says to ignore: a wrong shape, upper-case hex, version ``ff``, an
    all-zero trace or parent id, extra fields on version 00. Only the sampled bit of the flags is
    returned (the others are undefined in version 00).
    """
    from common_utils import _tracing  # OpenTelemetry, imported on first use

    ids = _tracing.span_ids(_trace_context_of(value))
    assert ids is not None  # _trace_context_of refused every context without a valid span
    return ids[0], ids[1], f"{ids[2] & 0x01:02x}"


def make_request_context(
    *, request_id: str | None = None, traceparent: str | None = None
) -> RequestContext:
    """Build a ``RequestContext``: validate what is given, make up what is not.

    A missing request id becomes a new one; a ``traceparent`` makes the caller's span the parent
    of what happens in the context; without one the current trace (if any) goes on.
    """
    rid = new_request_id() if request_id is None else validate_request_id(request_id)
    if traceparent is None:
        return RequestContext(request_id=rid)
    return RequestContext(request_id=rid, trace_context=_trace_context_of(traceparent))


def lenient_request_context(
    *, request_id: str | None = None, traceparent: str | None = None, source: str = "a caller"
) -> RequestContext:
    """Build a ``RequestContext`` from values received from outside; never raise.

    What validates is kept; an invalid request id is replaced by a new one and an invalid
    ``traceparent`` starts a new trace (as W3C trace context says), each logged at INFO naming
    ``source`` (for example ``"the request headers"`` or ``"event 3f2a..."``). The request
    middleware, the Celery task signals and the event consumer all build their context here.
    """
    if request_id is not None:
        try:
            validate_request_id(request_id)
        except InvalidRequestIdError as exc:
            logger.info("ignoring an invalid request id from %s: %s", source, exc)
            request_id = None
    rid = new_request_id() if request_id is None else request_id
    if traceparent is None:
        return RequestContext(request_id=rid)
    try:
        trace_context = _trace_context_of(traceparent)
    except InvalidTraceparentError as exc:
        logger.info("ignoring an invalid traceparent from %s: %s", source, exc)
        from common_utils import _tracing  # OpenTelemetry, imported on first use

        # A new trace: an empty context, so nothing current here becomes the parent.
        return RequestContext(request_id=rid, trace_context=_tracing.Context())
    return RequestContext(request_id=rid, trace_context=trace_context)


@contextmanager
def use_request_context(ctx: RequestContext | None) -> Iterator[RequestContext | None]:
    """Make ``ctx`` the current request context for the ``with`` block, then restore the last.

    Its ``trace_context``, when it has one, is OpenTelemetry's current context for the block too.
    """
    token = _current.set(ctx)
    trace_context = None if ctx is None else ctx.trace_context
    if trace_context is None:
        try:
            yield ctx
        finally:
            _current.reset(token)
        return
    import common_utils._tracing as _tracing  # noqa: PLR0402 - per request: "from" runs importlib code

    trace_token = _tracing.attach(trace_context)
    try:
        yield ctx
    finally:
        _tracing.detach(trace_token)
        _current.reset(token)


@contextmanager
def request_context(
    *, request_id: str | None = None, traceparent: str | None = None
) -> Iterator[RequestContext]:
    """Make a request context current for the ``with`` block, and restore the previous one after.

    ``request_id`` defaults to a new id; ``traceparent`` (the caller's header) defaults to a new
    trace. Invalid values raise ``InvalidRequestIdError`` / ``InvalidTraceparentError``; for values
    received from outside, ``use_request_context(lenient_request_context(...))`` never raises.
    """
    ctx = make_request_context(request_id=request_id, traceparent=traceparent)
    with use_request_context(ctx):
        yield ctx


def current_request_context() -> RequestContext | None:
    """Return the current ``RequestContext``, or ``None`` outside any."""
    return _current.get()


def get_request_id() -> str | None:
    """Return the current request id, or ``None`` outside a request context."""
    ctx = _current.get()
    return None if ctx is None else ctx.request_id


def outgoing_headers() -> dict[str, str]:
    """Return the headers that carry the current context on a call made now.

    ``X-Request-ID`` inside a request context, and the current trace as OpenTelemetry's
    propagator writes it (``traceparent``, W3C TraceContext by default) when there is one. Empty
    outside both, so it can be merged into any headers unconditionally.
    """
    ctx = _current.get()
    headers = {} if ctx is None else {REQUEST_ID_HEADER: ctx.request_id}
    import common_utils._tracing as _tracing  # noqa: PLR0402 - per request: "from" runs importlib code

    _tracing.inject(headers)
    return headers
