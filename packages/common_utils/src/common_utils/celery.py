"""Celery glue: the request context in tasks, the outbox relay, and idempotent event consumers.

Needs the ``celery`` extra (``pip install common-utils[celery]``).

- ``connect_request_context_signals()`` (called by the Django app when Celery is installed) puts
  the current ``X-Request-ID`` and ``traceparent`` in the headers of every task sent, and makes
  them current while the task runs, so the task's log records carry the request id.
- ``OutboxRelay`` publishes outbox rows as Celery task messages to a topic exchange (routing key:
  the event type) with publisher confirms, marks them sent, retries with backoff, parks after N
  failures. ``manage.py outbox_relay`` runs it in a loop; ``register_relay_task()`` adds a task
  for Celery beat.
- ``embedded_broker_options()`` configures the embedded broker (``FILESYSTEM_TRANSPORT``) in a
  directory that every process of every service on the machine can share.
- ``EventConsumer`` turns handlers into a Celery task bound to the consumer's own queue; each
  handler runs in a transaction on the consumer's database that also records the event id, so a
  redelivered event has its effect once.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pydantic
from celery import Celery, Task
from celery import current_app as celery_current_app
from celery.signals import before_task_publish, task_postrun, task_prerun
from kombu import Exchange, Queue

from common_utils._context import (
    _current,
    current_request_context,
    make_request_context,
)
from common_utils._errors import CommonUtilsError, InvalidRequestIdError, InvalidTraceparentError
from common_utils._events import Envelope, EventRegistry, events
from common_utils.django._outbox import BatchResult
from common_utils.django._router import _pinned

logger = logging.getLogger("common_utils.events")

DELIVER_EVENT_TASK = "common_utils.deliver_event"
"""The name of the task every event message invokes on a consumer's worker."""
RELAY_TASK = "common_utils.relay_outbox"
FILESYSTEM_TRANSPORT = "common_utils._filesystem_transport:Transport"
"""``broker_transport`` of the embedded broker: kombu's filesystem transport, atomic writes."""
EMBEDDED_BROKER_URL = "filesystem://"
"""``broker_url`` of the embedded broker (with ``broker_transport=FILESYSTEM_TRANSPORT``)."""
REQUEST_ID_TASK_HEADER = "x_request_id"
TRACEPARENT_TASK_HEADER = "traceparent"

DataT = TypeVar("DataT", bound=pydantic.BaseModel)

# --- the embedded broker ------------------------------------------------------------------------


def embedded_broker_options(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """Return the ``broker_transport_options`` of the embedded broker kept in ``directory``.

    Every process that shares ``directory`` (a service's relay, another service's worker) shares
    the broker: messages live in ``directory/messages``, the exchange bindings in
    ``directory/control``. The folders are created if missing. Use it with
    ``broker_url=EMBEDDED_BROKER_URL`` and ``broker_transport=FILESYSTEM_TRANSPORT``; in Django
    settings read by ``config_from_object(..., namespace="CELERY")``::

        CELERY_BROKER_URL = EMBEDDED_BROKER_URL
        CELERY_BROKER_TRANSPORT = FILESYSTEM_TRANSPORT
        CELERY_BROKER_TRANSPORT_OPTIONS = embedded_broker_options(os.environ["COMMONS_BROKER_DIR"])
    """
    root = Path(directory).expanduser().resolve()
    messages, control = root / "messages", root / "control"
    try:
        messages.mkdir(parents=True, exist_ok=True)
        control.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommonUtilsError(
            f"cannot create the embedded broker in {str(root)!r}: {exc}"
        ) from exc
    return {
        # In and out are one folder: what a publisher writes, a consumer reads.
        "data_folder_in": str(messages),
        "data_folder_out": str(messages),
        "control_folder": str(control),
        "store_processed": False,
    }


# --- request context in tasks -------------------------------------------------------------------

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


def _log_published(event_id: str, event_type: str, headers: dict[str, str]) -> None:
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


# --- the relay ----------------------------------------------------------------------------------


def resolve_celery_app(path: str | None = None) -> Celery:
    """Return the Celery app named by ``path`` (``"module:attr"`` or ``"module.attr"``).

    Defaults to ``COMMON_UTILS["CELERY_APP"]`` when Django is configured, then to Celery's
    current app.
    """
    import importlib

    if path is None:
        from django.conf import settings

        if settings.configured:
            from common_utils.django._settings import get_settings

            path = get_settings().CELERY_APP
    if path is None:
        return celery_current_app
    module_name, sep, attr = path.partition(":")
    if not sep:
        module_name, _, attr = path.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise CommonUtilsError(
            f"COMMON_UTILS['CELERY_APP'] {path!r} cannot be imported: {exc}"
        ) from None
    if not isinstance(obj, Celery):
        raise CommonUtilsError(f"COMMON_UTILS['CELERY_APP'] {path!r} is not a Celery app")
    return obj


def event_exchange(name: str | None = None) -> Exchange:
    """The durable topic exchange events are published to (``COMMON_UTILS['EVENT_EXCHANGE']``)."""
    if name is None:
        from common_utils.django._settings import get_settings

        name = get_settings().EVENT_EXCHANGE
    return Exchange(name, type="topic", durable=True)


@dataclass(slots=True)
class RelayStats:
    """Counts over a relay's lifetime."""

    batches: int = 0
    sent: int = 0
    failed: int = 0
    parked: int = 0


class OutboxRelay:
    """Publishes outbox rows to the broker, at least once, in the order they became due.

    One relay serves the outbox of each alias in ``aliases`` (default: every primary database).
    Several relays may run at once, each claiming different rows (see ``claim_batch``).
    """

    def __init__(
        self,
        app: Celery | None = None,
        *,
        aliases: Iterable[str] | None = None,
        batch_size: int | None = None,
        exchange: str | None = None,
        connect_timeout: float = 5.0,
    ) -> None:
        from common_utils.django._outbox import outbox_aliases

        self.app = app if app is not None else resolve_celery_app()
        self.aliases = list(aliases) if aliases is not None else outbox_aliases()
        self.batch_size = batch_size
        self.exchange = event_exchange(exchange)
        self.connect_timeout = connect_timeout
        self.stats = RelayStats()
        self._connection: Any = None
        self._producer: Any = None
        self.broker_failing = False

    def _producer_for_publish(self) -> Any:
        if self._producer is None:
            # Publisher confirms: with py-amqp, basic_publish waits for the broker's ack. Other
            # transports (Redis, filesystem, SQL) return once the broker holds the message.
            self._connection = self.app.connection_for_write(
                transport_options={"confirm_publish": True, "max_retries": 1},
                connect_timeout=self.connect_timeout,
            )
            self._producer = self.app.amqp.Producer(self._connection, auto_declare=False)
            # A copy bound to this connection's channel: ``self.exchange`` stays unbound, so the
            # connection made after a failure declares on its own channel, not the closed one.
            self.exchange.bind(self._producer.channel).declare()
        return self._producer

    def _drop_connection(self) -> None:
        connection, self._connection, self._producer = self._connection, None, None
        if connection is not None:
            try:
                connection.release()
            except Exception:
                logger.debug("closing a broken broker connection failed", exc_info=True)

    def close(self) -> None:
        """Release the broker connection."""
        self._drop_connection()

    def _publish(self, event_id: str, event_type: str, payload: str) -> dict[str, str]:
        """Send one event; the request context headers it was sent with."""
        producer = self._producer_for_publish()
        event = json.loads(payload)
        # The task runs in the request context the event was published in, so every log line
        # of the consumer's worker about it (Celery's own included) carries that request id.
        headers = {
            header: event[attribute]
            for header, attribute in (
                (REQUEST_ID_TASK_HEADER, "requestid"),
                (TRACEPARENT_TASK_HEADER, "traceparent"),
            )
            if isinstance(event.get(attribute), str)
        }
        self.app.send_task(
            DELIVER_EVENT_TASK,
            args=[event],
            headers=headers,
            task_id=event_id,
            exchange=self.exchange.name,
            routing_key=event_type,
            producer=producer,
            retry=False,
        )
        return headers

    def relay_batch(self, alias: str) -> BatchResult:
        """Claim, publish and mark one batch of ``alias``.

        The first failed publish ends the batch: that row is rescheduled with backoff, the rest
        stay due, and the broker connection is dropped so the next batch makes a new one.
        """
        from common_utils.django._outbox import claim_batch

        with claim_batch(alias, limit=self.batch_size) as batch:
            for message in batch.messages:
                try:
                    headers = self._publish(message.event_id, message.event_type, message.payload)
                except Exception as exc:
                    error = _describe_publish_error(exc)
                    logger.warning(
                        "publishing event %s (%s) from %r failed: %s",
                        message.event_id,
                        message.event_type,
                        alias,
                        error,
                    )
                    batch.failed(message, error)
                    self._drop_connection()
                    break
                batch.sent(message)
                _log_published(message.event_id, message.event_type, headers)
        result = batch.result
        assert result is not None
        self.stats.batches += 1
        self.stats.sent += result.sent
        self.stats.failed += result.failed
        self.stats.parked += result.parked
        return result

    def relay_pending(self) -> int:
        """Publish the due rows of every alias, batch after batch; return how many were claimed.

        Stops early, setting ``broker_failing``, when a publish fails: the caller backs off
        instead of charging a failed attempt to every pending row while the broker is away.
        """
        self.broker_failing = False
        total = 0
        for alias in self.aliases:
            while True:
                result = self.relay_batch(alias)
                total += result.claimed
                if result.failed or result.parked:
                    self.broker_failing = True
                    return total
                if result.claimed == 0:
                    break
        return total

    def run(
        self,
        *,
        poll_interval: float = 1.0,
        until_empty: bool = False,
        stop: threading.Event | None = None,
    ) -> RelayStats:
        """Relay until ``stop`` is set (or, with ``until_empty``, until no row is pending).

        While the broker fails, waits with exponential backoff (``OUTBOX_BACKOFF`` doubling up
        to ``OUTBOX_MAX_BACKOFF``) between attempts.
        """
        from common_utils.django._outbox import pending_count
        from common_utils.django._settings import get_settings

        conf = get_settings()
        stop = stop or threading.Event()
        delay = 0.0
        try:
            while not stop.is_set():
                claimed = self.relay_pending()
                if self.broker_failing:
                    delay = min(max(delay * 2, conf.OUTBOX_BACKOFF, 0.05), conf.OUTBOX_MAX_BACKOFF)
                    stop.wait(delay)
                    continue
                delay = 0.0
                if until_empty and pending_count(self.aliases) == 0:
                    break
                if claimed == 0:
                    stop.wait(poll_interval)
        finally:
            self.close()
        return self.stats


def _describe_publish_error(exc: BaseException) -> str:
    """Say why a publish failed, for the row's ``last_error`` and the log.

    Celery re-raises a broker's ``basic.nack`` as an ``OperationalError`` with an empty message:
    the cause chain says what happened.
    """
    from amqp.exceptions import MessageNacked

    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, MessageNacked):
            return (
                "MessageNacked: the broker refused the message (basic.nack), for example because "
                "a queue it is routed to is full and rejects publishes"
            )
        cause = cause.__cause__
    return f"{type(exc).__name__}: {exc}" if str(exc) else repr(exc)


def register_relay_task(app: Celery, *, name: str = RELAY_TASK) -> Task[[], int]:
    """Add a task that relays every due outbox row once (schedule it with Celery beat)."""

    @app.task(name=name, ignore_result=True)
    def relay_outbox() -> int:
        relay = OutboxRelay(app)
        try:
            return relay.relay_pending()
        finally:
            relay.close()

    return relay_outbox


# --- consumers ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Handler:
    name: str
    event_type: str
    func: Callable[[Envelope[Any]], object]


@dataclass(slots=True)
class _Handlers:
    by_type: dict[str, list[_Handler]] = field(default_factory=dict)


class EventConsumer:
    """A service's event consumer: one queue, one delivery task, any number of handlers.

    ::

        consumer = EventConsumer(app, queue="billing.events", using="billing")

        @consumer.handler(OrderPlaced)
        def charge(event: Envelope[OrderPlaced]) -> None:
            Invoice.objects.using("billing").create(order_id=event.data.order_id)

    ``consumer.queue`` is a durable queue bound to the event exchange for every handled type;
    declare it (``consumer.declare()``, or list it in ``task_queues`` and start the worker with
    ``-Q billing.events``) before events are published: a topic exchange drops what no queue
    is bound to. Each handler runs inside ``transaction.atomic(using=...)`` together with the
    insert of ``(event id, handler name)`` into ``ProcessedEvent``: a redelivered event finds its
    row and is skipped, so its effect happens once. A failing handler rolls back and the event is
    retried on the consumer's own queue with backoff, up to ``max_retries``.
    """

    def __init__(
        self,
        app: Celery,
        *,
        queue: str,
        using: str = "default",
        registry: EventRegistry | None = None,
        exchange: str | None = None,
        max_retries: int = 10,
        retry_backoff: float = 1.0,
    ) -> None:
        if DELIVER_EVENT_TASK in app.tasks:
            raise CommonUtilsError(
                f"the Celery app {app.main!r} already has an EventConsumer: one per app"
            )
        self.app = app
        self.queue_name = queue
        self.using = using
        self.registry = registry or events
        self.exchange = event_exchange(exchange)
        self.max_retries = max_retries
        self.retry_backoff = retry_backoff
        self._handlers = _Handlers()
        self.task = self._make_task()

    @property
    def queue(self) -> Queue:
        """The consumer's durable queue, bound to the event exchange for each handled type."""
        from kombu import binding

        return Queue(
            self.queue_name,
            bindings=[
                binding(self.exchange, routing_key=event_type)
                for event_type in sorted(self._handlers.by_type)
            ],
            durable=True,
        )

    def declare(self) -> None:
        """Declare the exchange, the queue and its bindings on the broker."""
        with self.app.connection_for_write() as connection:
            self.queue.bind(connection.default_channel).declare()

    def handler(
        self, data_model: type[DataT], *, name: str | None = None
    ) -> Callable[[Callable[[Envelope[DataT]], object]], Callable[[Envelope[DataT]], object]]:
        """Register a handler for events whose ``data`` is ``data_model``.

        ``name`` (default: the function's module and name) identifies the handler in the
        processed-event table: keep it stable, or old events will be handled again.
        """
        event_type = self.registry.type_of(data_model)

        def decorate(
            func: Callable[[Envelope[DataT]], object],
        ) -> Callable[[Envelope[DataT]], object]:
            handler_name = name or f"{func.__module__}.{func.__qualname__}"
            self._handlers.by_type.setdefault(event_type, []).append(
                _Handler(handler_name, event_type, func)
            )
            return func

        return decorate

    def handle(self, raw: Any) -> int:
        """Run the handlers of one event (as the task does); return how many had an effect."""
        from django.db import IntegrityError, transaction
        from django.utils import timezone

        from common_utils.django.models import ProcessedEvent

        envelope = self.registry.parse_event(raw)
        handled = 0
        ctx_manager: AbstractContextManager[Any]
        try:
            from common_utils._context import request_context

            ctx_manager = request_context(
                request_id=envelope.requestid, traceparent=envelope.traceparent
            )
        except CommonUtilsError:
            ctx_manager = request_context()
        with ctx_manager:
            for handler in self._handlers.by_type.get(envelope.type, []):
                try:
                    with transaction.atomic(using=self.using):
                        ProcessedEvent.objects.using(self.using).create(
                            event_id=envelope.id,
                            handler=handler.name,
                            processed_at=timezone.now(),
                        )
                        handler.func(envelope)
                except IntegrityError:
                    if (
                        not ProcessedEvent.objects.using(self.using)
                        .filter(event_id=envelope.id, handler=handler.name)
                        .exists()
                    ):
                        raise
                    logger.info("event %s already handled by %s", envelope.id, handler.name)
                    continue
                handled += 1
        return handled

    def _make_task(self) -> Task[Any, Any]:
        consumer = self

        @self.app.task(
            name=DELIVER_EVENT_TASK,
            bind=True,
            acks_late=True,
            reject_on_worker_lost=True,
            ignore_result=True,
            max_retries=self.max_retries,
        )
        def deliver_event(self: Task[Any, Any], event: dict[str, Any]) -> int:
            try:
                return consumer.handle(event)
            except Exception as exc:
                if isinstance(exc, CommonUtilsError):
                    raise  # an event that cannot be read will not read better later
                countdown = consumer.retry_backoff * 2**self.request.retries
                # Retry on this consumer's queue only: republishing to the topic exchange would
                # deliver the event to every other consumer again.
                raise self.retry(
                    exc=exc, countdown=countdown, exchange="", routing_key=consumer.queue_name
                ) from exc

        return deliver_event
