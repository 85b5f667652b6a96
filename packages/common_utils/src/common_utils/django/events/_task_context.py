"""The request context in Celery tasks: sent in each task's headers, current while it runs."""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import Task
from celery.signals import before_task_publish, task_postrun, task_prerun

from common_utils._context import (
    _current,
    current_request_context,
    make_request_context,
)
from common_utils._errors import InvalidRequestIdError, InvalidTraceparentError
from common_utils.django._router import _pinned
from common_utils.django.events._broker import REQUEST_ID_TASK_HEADER, TRACEPARENT_TASK_HEADER

logger = logging.getLogger("common_utils.events")

_task_tokens: dict[str, Any] = {}
_task_tokens_lock = threading.Lock()


def _add_context_headers(headers: dict[str, Any] | None = None, **_: Any) -> None:
    ctx = current_request_context()
    if ctx is None or headers is None:
        return
    headers.setdefault(REQUEST_ID_TASK_HEADER, ctx.request_id)
    headers.setdefault(TRACEPARENT_TASK_HEADER, ctx.traceparent)


def _header(task: Task[Any, Any], name: str) -> str | None:
    request = task.request
    value = getattr(request, name, None)
    headers = getattr(request, "headers", None)
    if value is None and isinstance(headers, dict):
        value = headers.get(name)
    return value if isinstance(value, str) else None


def log_published(event_id: str, event_type: str, headers: dict[str, str]) -> None:
    """One INFO line per published event, in the request context the event was published in."""
    try:
        ctx = make_request_context(
            request_id=headers.get(REQUEST_ID_TASK_HEADER),
            traceparent=headers.get(TRACEPARENT_TASK_HEADER),
        )
    except (InvalidRequestIdError, InvalidTraceparentError):
        ctx = make_request_context()
    token = _current.set(ctx)
    try:
        logger.info("published event %s", event_id, extra={"event_type": event_type})
    finally:
        _current.reset(token)


def _enter_task_context(
    task_id: str | None = None, task: Task[Any, Any] | None = None, **_: Any
) -> None:
    if task is None or task_id is None:
        return
    request_id = _header(task, REQUEST_ID_TASK_HEADER)
    traceparent = _header(task, TRACEPARENT_TASK_HEADER)
    try:
        ctx = make_request_context(request_id=request_id, traceparent=traceparent)
    except (InvalidRequestIdError, InvalidTraceparentError):
        logger.warning("task %s carried an invalid request context; starting a new one", task_id)
        ctx = make_request_context()
    # Each task starts with no read-after-write pin, like each request does.
    tokens = (_current.set(ctx), _pinned.set(frozenset()))
    with _task_tokens_lock:
        _task_tokens[task_id] = tokens


def _exit_task_context(task_id: str | None = None, **_: Any) -> None:
    with _task_tokens_lock:
        tokens = _task_tokens.pop(task_id or "", None)
    if tokens is not None:
        ctx_token, pin_token = tokens
        try:
            _pinned.reset(pin_token)
            _current.reset(ctx_token)
        except ValueError:  # reset from another context: just clear it
            _pinned.set(frozenset())
            _current.set(None)


def connect_request_context_signals() -> None:
    """Carry the request context into every Celery task (idempotent)."""
    before_task_publish.connect(
        _add_context_headers, weak=False, dispatch_uid="common_utils.ctx.pub"
    )
    task_prerun.connect(_enter_task_context, weak=False, dispatch_uid="common_utils.ctx.pre")
    task_postrun.connect(_exit_task_context, weak=False, dispatch_uid="common_utils.ctx.post")
