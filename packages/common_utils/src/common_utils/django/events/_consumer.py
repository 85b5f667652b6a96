"""Idempotent event consumers: handlers turned into one Celery task on the consumer's own queue.

Each handler runs in a transaction on the consumer's database that also records the event id, so
a redelivered event has its effect once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pydantic
from celery import Celery, Task
from kombu import Queue

from common_utils._errors import CommonUtilsError
from common_utils._events import Envelope, EventRegistry, events
from common_utils.django.events._broker import DELIVER_EVENT_TASK, event_exchange

logger = logging.getLogger("common_utils.events")

DataT = TypeVar("DataT", bound=pydantic.BaseModel)


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
