"""Idempotent event consumers: handlers turned into one Celery task on the consumer's own queue.

Each handler runs in a transaction on the consumer's database that also records the event id, so
a redelivered event has its effect once.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import pydantic
from celery import Celery, Task
from kombu import Queue

from common_utils._context import lenient_request_context, use_request_context
from common_utils._errors import CommonUtilsError, InvalidEventError, UnknownEventTypeError
from common_utils._events import Envelope, EventRegistry, events
from common_utils.django.events._broker import (
    DELIVER_EVENT_TASK,
    DELIVER_EVENTS_TASK,
    event_exchange,
)
from common_utils.django.events._dead_letters import record_dead_letter
from common_utils.django.events._tracing import processing
from common_utils.django.events._tracing import record_dead_letter as record_dead_letter_telemetry

logger = logging.getLogger("common_utils.events")

DataT = TypeVar("DataT", bound=pydantic.BaseModel)

_consumers: weakref.WeakKeyDictionary[Celery, EventConsumer] = weakref.WeakKeyDictionary()


def consumer_of(app: Celery) -> EventConsumer | None:
    """The ``EventConsumer`` made on ``app`` (one per app), or ``None``."""
    return _consumers.get(app)


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
    retried on the consumer's own queue with backoff, up to ``max_retries``; then it becomes a
    ``DeadLetter`` in the same database, as does an event that is unreadable or of a type the
    registry does not know (``manage.py events`` lists and replays them). No event is dropped:
    while the dead letter cannot be written, the event is retried.

    Events published with a key (``publish(event, key=...)``) are handled in their key's order,
    however many workers take them: an event waits (it is retried after at most
    ``order_poll_max`` seconds, without counting against ``max_retries``) until the event of
    the same key before it, among the types this consumer handles, is handled or dead-lettered;
    ``EventKeyPosition`` keeps how far each key has come. An earlier event that was received
    is waited for however long its retries take; one never received (published before this
    queue was bound to its type) is waited for ``order_gap_timeout`` seconds, then skipped with
    a warning.
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
        order_gap_timeout: float = 300.0,
        order_poll_max: float = 1.0,
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
        self.order_gap_timeout = order_gap_timeout
        self.order_poll_max = order_poll_max
        self._handlers = _Handlers()
        self.task = self._make_task()
        self.batch_task = self._make_batch_task()
        _consumers[app] = self
        _drain_when_the_worker_stops()

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

    def _retry_destination(self) -> dict[str, Any]:
        """Where a retry goes: this consumer's queue only, through the default exchange.

        Named as a queue object: Celery would otherwise merge in its default queue
        (``celery``) and send the retry there, where this consumer's worker may not listen.
        Republishing to the topic exchange would deliver the event to every consumer again.
        """
        return {"queue": Queue(self.queue_name), "declare": []}

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
        """Run the handlers of one event (as the task does); return how many had an effect.

        Raises ``InvalidEventError`` / ``UnknownEventTypeError`` for an event that cannot be read,
        and what a handler raised.
        """
        envelope = self.registry.parse_event(raw)
        try:
            return self._run_handlers(envelope)
        except _HandlerFailedError as failure:
            raise failure.error from failure.error.__cause__

    def _run_handlers(self, envelope: Envelope[Any]) -> int:
        from django.db import IntegrityError, transaction
        from django.utils import timezone

        from common_utils.django.models import ProcessedEvent

        handled = 0
        ctx = lenient_request_context(
            request_id=envelope.requestid,
            traceparent=envelope.traceparent,
            source=f"event {envelope.id}",
        )
        with use_request_context(ctx):
            for handler in self._handlers.by_type.get(envelope.type, []):
                try:
                    with transaction.atomic(using=self.using):
                        ProcessedEvent.objects.using(self.using).create(
                            event_id=envelope.id,
                            handler=handler.name,
                            processed_at=timezone.now(),
                        )
                        handler.func(envelope)
                except IntegrityError as exc:
                    if (
                        not ProcessedEvent.objects.using(self.using)
                        .filter(event_id=envelope.id, handler=handler.name)
                        .exists()
                    ):
                        raise _HandlerFailedError(handler.name, exc) from exc
                    logger.info("event %s already handled by %s", envelope.id, handler.name)
                    continue
                except Exception as exc:
                    raise _HandlerFailedError(handler.name, exc) from exc
                handled += 1
        return handled

    def dead_letter(
        self, event: object, *, reason: str, error: str, attempts: int, handler: str = ""
    ) -> None:
        """Keep an event this consumer cannot handle in its database's dead-letter table."""
        record_dead_letter(
            self.using,
            event=event,
            queue=self.queue_name,
            reason=reason,
            error=error,
            attempts=attempts,
            handler=handler,
        )
        doc = event if isinstance(event, dict) else {}
        logger.error(
            "event %s dead-lettered (%s%s) after %d attempt(s): %s",
            doc.get("id", "?"),
            reason,
            f", handler {handler}" if handler else "",
            attempts,
            error,
            extra={"event_type": doc.get("type")},
        )

    def _deliver(
        self,
        task: Task[Any, Any],
        event: Any,
        *,
        failures: int = 0,
        waits: int = 0,
        waiting_since: float | None = None,
    ) -> int:
        """The delivery task's body: wait its turn, handle, retry, or dead-letter; never drop.

        ``failures`` counts the handlers' failed attempts so far, ``waits`` the times the event
        waited for its key's earlier event, since ``waiting_since`` (a Unix time).
        """
        from common_utils.django.models import DeadLetter

        try:
            envelope = self.registry.parse_event(event)
        except UnknownEventTypeError as exc:
            return self._dead_letter_or_retry(
                task, event, reason=DeadLetter.Reason.UNKNOWN_TYPE, error=str(exc)
            )
        except (InvalidEventError, TypeError, ValueError) as exc:
            return self._dead_letter_or_retry(
                task, event, reason=DeadLetter.Reason.UNREADABLE, error=str(exc)
            )
        place = _KeyPlace.of(self.queue_name, event)
        if place is not None and not self._its_turn(
            place, envelope.prior_in(self._handlers.by_type), waiting_since
        ):
            raise task.retry(
                countdown=min(self.order_poll_max, 0.02 * 2**waits),
                kwargs={
                    "failures": failures,
                    "waits": waits + 1,
                    "waiting_since": waiting_since or time.time(),
                },
                **self._retry_destination(),
            )
        try:
            handled = self._run_handlers(envelope)
        except _HandlerFailedError as failure:
            if failures < self.max_retries:
                # Retry on this consumer's queue only: republishing to the topic exchange would
                # deliver the event to every other consumer again.
                raise task.retry(
                    exc=failure.error,
                    countdown=self.retry_backoff * 2**failures,
                    kwargs={"failures": failures + 1},
                    **self._retry_destination(),
                ) from failure.error
            error = f"{type(failure.error).__name__}: {failure.error}"
            return self._dead_letter_or_retry(
                task,
                event,
                reason=DeadLetter.Reason.HANDLER_FAILED,
                error=error,
                handler=failure.handler,
                attempts=failures + 1,
            )
        if place is not None:
            place.finish(self.using)
        return handled

    def _deliver_batch(self, task: Task[Any, Any], events: Any) -> int:
        """The body of a message of several events: handled in order, in one transaction.

        The fast path of a relay sending ``EVENT_DELIVERY_BATCH`` events a message: one commit
        for them all. The first event that is not plain sailing (unreadable, waiting for its key's
        earlier event, a handler failing) ends it: what came before is committed, and that event
        and the rest are sent on to this consumer's queue one by one, where retries, ordering and
        dead letters apply as to any event. Sent on before this message is acknowledged: a worker
        lost here redelivers it, and the recorded events make their effects single.
        """
        from django.db import transaction

        from common_utils.django.models import DeadLetter

        if not isinstance(events, list) or not events:
            return self._dead_letter_or_retry(
                task,
                events,
                reason=DeadLetter.Reason.UNREADABLE,
                error=f"a batch of events must be a non-empty list, not {type(events).__name__}",
            )
        done = handled = 0
        with transaction.atomic(using=self.using):
            for event in events:
                try:
                    envelope = self.registry.parse_event(event)
                except (InvalidEventError, UnknownEventTypeError, TypeError, ValueError):
                    break
                place = _KeyPlace.of(self.queue_name, event)
                if place is not None and not self._its_turn(
                    place, envelope.prior_in(self._handlers.by_type), None
                ):
                    break
                try:
                    # Each event's own process span and counters, as when it comes alone.
                    with self._processing(event, attempt=1):
                        handled += self._run_handlers(envelope)
                except _HandlerFailedError as failure:
                    logger.info(
                        "event %s failed in a batch (%s), delivered on its own",
                        envelope.id,
                        failure.error,
                    )
                    break
                if place is not None:
                    place.finish(self.using)
                done += 1
        for event in events[done:]:
            self.task.apply_async(args=(event,), **self._retry_destination())
        return handled

    def _its_turn(self, place: _KeyPlace, prior: int, waiting_since: float | None) -> bool:
        """Whether a keyed event may be handled now: the key's earlier event is finished.

        Records the event's arrival first, so that events after it wait for it however long
        its retries take.
        """
        from common_utils.django.models import EventKeyArrival, EventKeyPosition

        arrivals = EventKeyArrival.objects.using(self.using)
        arrivals.bulk_create(
            [EventKeyArrival(**place.fields(), sequence=place.sequence, arrived_at=_now())],
            ignore_conflicts=True,
        )
        position = (
            EventKeyPosition.objects.using(self.using)
            .filter(**place.fields())
            .values_list("sequence", flat=True)
            .first()
        ) or 0
        if position >= prior:
            return True
        if arrivals.filter(**place.fields(), sequence=prior).exists():
            return False  # the earlier event is here, waiting or being retried
        if waiting_since is None or time.time() - waiting_since < self.order_gap_timeout:
            return False
        logger.warning(
            "event %s (key %r, number %d) handled without event %d of its key, which did not "
            "arrive within %.0f s (handled up to %d)",
            place.event_id,
            place.key,
            place.sequence,
            prior,
            self.order_gap_timeout,
            position,
        )
        return True

    def _dead_letter_or_retry(
        self,
        task: Task[Any, Any],
        event: object,
        *,
        reason: str,
        error: str,
        handler: str = "",
        attempts: int = 1,
    ) -> int:
        from django.db import transaction

        try:
            with transaction.atomic(using=self.using):
                self.dead_letter(
                    event, reason=reason, error=error, attempts=attempts, handler=handler
                )
                # Dead-lettered is finished: the key's later events go on.
                place = _KeyPlace.of(self.queue_name, event)
                if place is not None:
                    place.finish(self.using)
        except Exception as exc:
            # The event is kept somewhere or not acknowledged: while the dead-letter table cannot
            # be written (the database is away), the event comes back, however long that takes.
            logger.warning("writing a dead letter failed, retrying the event: %s", exc)
            raise task.retry(
                exc=exc,
                countdown=min(self.retry_backoff * 2 ** min(task.request.retries, 10), 60.0),
                **self._retry_destination(),
            ) from exc
        doc = event if isinstance(event, dict) else {}
        record_dead_letter_telemetry(
            doc.get("type"), queue=self.queue_name, reason=reason, error=error
        )
        return 0

    def _processing(self, event: object, *, attempt: int) -> AbstractContextManager[None]:
        """The ``process`` span of one delivery, and the handled / dead-lettered counters."""
        from celery.exceptions import Retry

        return processing(
            event,
            queue=self.queue_name,
            exchange=self.exchange.name,
            broker_url=self.app.conf.broker_url,
            registry=self.registry,
            attempt=attempt,
            is_retry=lambda exc: isinstance(exc, Retry),
        )

    def _make_task(self) -> Task[Any, Any]:
        consumer = self

        @self.app.task(
            name=DELIVER_EVENT_TASK,
            bind=True,
            # This app's task only: a shared task would be added to every app made later in
            # the process, which then could not have a consumer of its own.
            shared=False,
            acks_late=True,
            reject_on_worker_lost=True,
            ignore_result=True,
            # Unbounded here: the consumer counts a handler's failures itself (``failures``), and
            # an event waiting its turn or for the database is retried however long that takes.
            max_retries=None,
        )
        def deliver_event(
            self: Task[Any, Any],
            event: dict[str, Any],
            failures: int = 0,
            waits: int = 0,
            waiting_since: float | None = None,
        ) -> int:
            with consumer._processing(event, attempt=self.request.retries + 1):
                return consumer._deliver(
                    self, event, failures=failures, waits=waits, waiting_since=waiting_since
                )

        return deliver_event

    def _make_batch_task(self) -> Task[Any, Any]:
        consumer = self

        @self.app.task(
            name=DELIVER_EVENTS_TASK,
            bind=True,
            shared=False,
            acks_late=True,
            reject_on_worker_lost=True,
            ignore_result=True,
            max_retries=None,
        )
        def deliver_events(self: Task[Any, Any], events: list[dict[str, Any]]) -> int:
            return consumer._deliver_batch(self, events)

        return deliver_events


def _drain_when_the_worker_stops() -> None:
    """Readiness answers 503 from the worker's SIGTERM (warm shutdown) on.

    The worker itself finishes the task in hand; ``acks_late`` with ``reject_on_worker_lost``
    leaves the message of a task it could not finish (SIGKILL, a lost child) unacknowledged, so
    the broker delivers it again and the processed-event row keeps its effect single.
    """
    from celery.signals import worker_shutting_down

    from common_utils.django._health import begin_draining

    def drain(**_: Any) -> None:
        begin_draining()

    worker_shutting_down.connect(drain, weak=False, dispatch_uid="common_utils.drain")


class _HandlerFailedError(Exception):
    """A handler raised ``error``: carries which handler, for the dead letter."""

    def __init__(self, handler: str, error: Exception) -> None:
        super().__init__(handler, error)
        self.handler = handler
        self.error = error


def _now() -> datetime:
    from django.utils import timezone

    return timezone.now()


@dataclass(frozen=True, slots=True)
class _KeyPlace:
    """Where a keyed event stands for one consumer: its producer, key and number."""

    consumer: str
    source: str
    key: str
    sequence: int
    event_id: str

    @classmethod
    def of(cls, consumer: str, event: object) -> _KeyPlace | None:
        """The place of ``event`` as received, or ``None`` when it has no (readable) key.

        Read from the raw event, so an unreadable event that still names its key and number
        finishes its place when it is dead-lettered.
        """
        if not isinstance(event, dict):
            return None
        key, sequence = event.get("partitionkey"), event.get("keysequence")
        if not isinstance(key, str) or not isinstance(sequence, int) or isinstance(sequence, bool):
            return None
        source, event_id = event.get("source"), event.get("id")
        return cls(
            consumer=consumer[:200],
            source=source[:200] if isinstance(source, str) else "",
            key=key[:200],
            sequence=sequence,
            event_id=str(event_id)[:200],
        )

    def fields(self) -> dict[str, str]:
        """The lookup of this key's rows."""
        return {"consumer": self.consumer, "source": self.source, "key": self.key}

    def finish(self, using: str) -> None:
        """Record that this event is handled or dead-lettered: the key has come this far."""
        from django.db import transaction

        from common_utils.django.models import EventKeyArrival, EventKeyPosition

        positions = EventKeyPosition.objects.using(using)
        with transaction.atomic(using=using):
            positions.bulk_create(
                [EventKeyPosition(**self.fields(), sequence=0, updated_at=_now())],
                ignore_conflicts=True,
            )
            # Only forward: a late or replayed event does not move the key back.
            positions.filter(**self.fields(), sequence__lt=self.sequence).update(
                sequence=self.sequence, updated_at=_now()
            )
            EventKeyArrival.objects.using(using).filter(
                **self.fields(), sequence=self.sequence
            ).delete()
