"""The request context in Celery tasks: sent in each task's headers, current while it runs.

The request id travels in its own header; the trace goes through OpenTelemetry's propagator
(``traceparent``, W3C TraceContext by default): injected when a task is published, extracted when
it starts, so the task's work (and what it calls) continues the publisher's trace. With
OpenTelemetry's Celery instrumentation on, the trace is its job (it injects its producer span and
makes its consumer span current): the signals here then carry only the request id, so there is no
second span, nor a second parent.
"""

from __future__ import annotations

import logging
import threading
from contextlib import ExitStack
from typing import Any

from celery import Task
from celery.signals import before_task_publish, task_postrun, task_prerun

from common_utils import _tracing
from common_utils._context import (
    current_request_context,
    lenient_request_context,
    use_request_context,
)
from common_utils.django._router import pinning_scope
from common_utils.django.events._broker import REQUEST_ID_TASK_HEADER, TRACEPARENT_TASK_HEADER

logger = logging.getLogger("common_utils.events")

# task id -> what its prerun made current, undone at its postrun.
_task_scopes: dict[str, ExitStack] = {}
_task_scopes_lock = threading.Lock()


def _add_context_headers(headers: dict[str, Any] | None = None, **_: Any) -> None:
    if headers is None:
        return
    ctx = current_request_context()
    if ctx is not None:
        headers.setdefault(REQUEST_ID_TASK_HEADER, ctx.request_id)
    if _tracing.is_instrumented("celery"):
        return  # its own before_task_publish handler injects its producer span
    carried: dict[str, str] = {}
    _tracing.inject(carried)
    # A trace the publisher put in the headers on purpose (an event's own) wins.
    for name, value in carried.items():
        headers.setdefault(name, value)


def _header(task: Task[Any, Any], name: str) -> str | None:
    request = task.request
    value = getattr(request, name, None)
    headers = getattr(request, "headers", None)
    if value is None and isinstance(headers, dict):
        value = headers.get(name)
    return value if isinstance(value, str) else None


def log_published(event_id: str, event_type: str, headers: dict[str, str]) -> None:
    """One INFO line per published event, in the request context the event was published in."""
    if not logger.isEnabledFor(logging.INFO):
        return
    ctx = lenient_request_context(
        request_id=headers.get(REQUEST_ID_TASK_HEADER),
        traceparent=headers.get(TRACEPARENT_TASK_HEADER),
        source=f"event {event_id}",
    )
    with use_request_context(ctx):
        logger.info("published event %s", event_id, extra={"event_type": event_type})


def _enter_task_context(
    task_id: str | None = None, task: Task[Any, Any] | None = None, **_: Any
) -> None:
    if task is None or task_id is None:
        return
    instrumented = _tracing.is_instrumented("celery")
    ctx = lenient_request_context(
        request_id=_header(task, REQUEST_ID_TASK_HEADER),
        # Instrumented, the task's trace is its consumer span, already current: left alone.
        traceparent=None if instrumented else _header(task, TRACEPARENT_TASK_HEADER),
        source=f"the headers of task {task_id}",
    )
    scope = ExitStack()
    scope.enter_context(use_request_context(ctx))
    # Each task starts with no read-after-write pin, like each request does.
    scope.enter_context(pinning_scope())
    with _task_scopes_lock:
        _task_scopes[task_id] = scope


def _exit_task_context(task_id: str | None = None, **_: Any) -> None:
    with _task_scopes_lock:
        scope = _task_scopes.pop(task_id or "", None)
    if scope is not None:
        try:
            scope.close()
        except ValueError:  # ended in another context than it began: nothing of ours to undo
            logger.debug("task %s ended in another context than it started", task_id)


def connect_request_context_signals() -> None:
    """Carry the request context into every Celery task (idempotent)."""
    before_task_publish.connect(
        _add_context_headers, weak=False, dispatch_uid="common_utils.ctx.pub"
    )
    task_prerun.connect(_enter_task_context, weak=False, dispatch_uid="common_utils.ctx.pre")
    task_postrun.connect(_exit_task_context, weak=False, dispatch_uid="common_utils.ctx.post")
