"""The request context: a request id and W3C trace context held in contextvars.

One ``RequestContext`` is current per task or thread (contextvars, so it is safe under ASGI and
asyncio). The Django middleware, the Celery signals and ``request_context()`` set it; the log
filter, ``outgoing_headers()`` and the httpx hooks read it.
"""

from __future__ import annotations

import contextvars
import logging
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from common_utils._errors import InvalidRequestIdError, InvalidTraceparentError

logger = logging.getLogger("common_utils.request")

REQUEST_ID_HEADER = "X-Request-ID"
TRACEPARENT_HEADER = "traceparent"

# Visible ASCII without spaces: safe to echo in a response header and to write in a log line.
_REQUEST_ID_RE = re.compile(r"[\x21-\x7e]{1,200}")
# W3C trace context, version-format: version "-" trace-id "-" parent-id "-" trace-flags; a future
# version may append fields after another "-", which version 00 must not have.
_TRACEPARENT_RE = re.compile(
    r"(?P<version>[0-9a-f]{2})-(?P<trace_id>[0-9a-f]{32})-(?P<parent_id>[0-9a-f]{16})"
    r"-(?P<flags>[0-9a-f]{2})(?P<rest>-.*)?"
)
_ZERO_TRACE_ID = "0" * 32
_ZERO_SPAN_ID = "0" * 16


@dataclass(frozen=True, slots=True)
class RequestContext:
    """What identifies the current unit of work across services.

    ``request_id`` is the ``X-Request-ID`` value; ``trace_id`` and ``span_id`` are this service's
    position in the W3C trace (``span_id`` is new per context, ``parent_id`` is the caller's span,
    ``None`` when this context started the trace).
    """

    request_id: str
    trace_id: str
    span_id: str
    parent_id: str | None = None
    trace_flags: str = "00"

    @property
    def traceparent(self) -> str:
        """The ``traceparent`` header to send downstream: this context's span is their parent."""
        return f"00-{self.trace_id}-{self.span_id}-{self.trace_flags}"


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


def parse_traceparent(value: str) -> tuple[str, str, str]:
    """Split a ``traceparent`` header into ``(trace_id, parent_id, trace_flags)``.

    Raises ``InvalidTraceparentError`` for anything W3C trace context says to ignore: a wrong
    shape, upper-case hex, version ``ff``, an all-zero trace or parent id, extra fields on 00.
    """
    match = _TRACEPARENT_RE.fullmatch(value.strip())
    if match is None:
        raise InvalidTraceparentError(
            f"traceparent {value[:80]!r} is not version-traceid-parentid-flags"
        )
    version, trace_id, parent_id, flags = match.group("version", "trace_id", "parent_id", "flags")
    if version == "ff":
        raise InvalidTraceparentError(f"traceparent {value[:80]!r} has the forbidden version ff")
    if version == "00" and match.group("rest"):
        raise InvalidTraceparentError(f"traceparent {value[:80]!r} has extra fields for version 00")
    if trace_id == _ZERO_TRACE_ID:
        raise InvalidTraceparentError(f"traceparent {value[:80]!r} has an all-zero trace id")
    if parent_id == _ZERO_SPAN_ID:
        raise InvalidTraceparentError(f"traceparent {value[:80]!r} has an all-zero parent id")
    return trace_id, parent_id, flags


def _new_span_id() -> str:
    while True:
        # os.urandom is what secrets.token_hex reads; importing secrets would cost more.
        span_id = os.urandom(8).hex()
        if span_id != _ZERO_SPAN_ID:
            return span_id


def make_request_context(
    *, request_id: str | None = None, traceparent: str | None = None
) -> RequestContext:
    """Build a ``RequestContext``: validate what is given, make up what is not.

    A missing request id becomes a new one; a missing traceparent starts a new trace.
    """
    rid = new_request_id() if request_id is None else validate_request_id(request_id)
    if traceparent is None:
        return RequestContext(request_id=rid, trace_id=uuid.uuid4().hex, span_id=_new_span_id())
    trace_id, parent_id, flags = parse_traceparent(traceparent)
    return RequestContext(
        request_id=rid,
        trace_id=trace_id,
        span_id=_new_span_id(),
        parent_id=parent_id,
        # Only the sampled bit is defined; other bits must not be propagated by version 00 code.
        trace_flags=f"{int(flags, 16) & 0x01:02x}",
    )


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
    if traceparent is not None:
        try:
            parse_traceparent(traceparent)
        except InvalidTraceparentError as exc:
            logger.info("ignoring an invalid traceparent from %s: %s", source, exc)
            traceparent = None
    return make_request_context(request_id=request_id, traceparent=traceparent)


@contextmanager
def use_request_context(ctx: RequestContext | None) -> Iterator[RequestContext | None]:
    """Make ``ctx`` the current request context for the ``with`` block, then restore the last."""
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
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
    """Return the ``X-Request-ID`` and ``traceparent`` headers for a call made now.

    Empty outside a request context, so it can be merged into any headers unconditionally.
    """
    ctx = _current.get()
    if ctx is None:
        return {}
    return {REQUEST_ID_HEADER: ctx.request_id, TRACEPARENT_HEADER: ctx.traceparent}
