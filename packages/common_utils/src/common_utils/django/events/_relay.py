"""The outbox relay: committed outbox rows published to the broker, at least once.

``OutboxRelay`` publishes outbox rows as Celery task messages to the topic exchange (routing key:
the event type) a batch at a time, waits for the broker's publisher confirms of the whole batch,
marks the confirmed rows sent, retries the rest with backoff and parks a row after N failures.
``manage.py outbox_relay`` runs it in a loop, woken by commits on PostgreSQL (``_wakeup``) and
polling elsewhere; ``register_relay_task()`` adds a task for Celery beat.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from celery import Celery, Task

from common_utils._errors import EventConfigError
from common_utils.django.events._broker import (
    DELIVER_EVENT_TASK,
    DELIVER_EVENTS_TASK,
    RELAY_TASK,
    configured_celery_app,
    context_headers,
    event_exchange,
    verify_broker_url,
)
from common_utils.django.events._outbox import BatchResult, ClaimedBatch, ClaimedMessage
from common_utils.django.events._task_context import log_published

if TYPE_CHECKING:
    from common_utils.django.events._wakeup import Wakeup

logger = logging.getLogger("common_utils.events")


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
    ``app`` defaults to ``COMMON_UTILS["CELERY_APP"]``; without it, or with an app whose broker
    is not ``CELERY_BROKER_URL``, the relay refuses to start (``EventConfigError``).
    """

    def __init__(
        self,
        app: Celery | None = None,
        *,
        aliases: Iterable[str] | None = None,
        batch_size: int | None = None,
        delivery_batch: int | None = None,
        exchange: str | None = None,
        connect_timeout: float = 5.0,
        confirm_timeout: float = 30.0,
    ) -> None:
        from common_utils.django.events._outbox import outbox_aliases

        # Refused here, before any row is claimed: a relay publishing to the wrong broker would
        # mark every event sent.
        self.app = app if app is not None else configured_celery_app()
        verify_broker_url(self.app)
        self.aliases = list(aliases) if aliases is not None else outbox_aliases()
        self.batch_size = batch_size
        if delivery_batch is None:
            from common_utils.django._settings import get_settings

            delivery_batch = get_settings().EVENT_DELIVERY_BATCH
        if delivery_batch < 1:
            raise EventConfigError(f"the delivery batch must be at least 1, not {delivery_batch}")
        self.delivery_batch = delivery_batch
        self.exchange = event_exchange(exchange)
        self.connect_timeout = connect_timeout
        self.confirm_timeout = confirm_timeout
        self.stats = RelayStats()
        self._connection: Any = None
        self._producer: Any = None
        self._confirms: _Confirms | None = None
        self._wakeup: Wakeup | None = None
        self._stopping = threading.Event()
        self.broker_failing = False

    def _producer_for_publish(self) -> Any:
        if self._producer is None:
            self._connection = self.app.connection_for_write(
                transport_options={"max_retries": 1}, connect_timeout=self.connect_timeout
            )
            self._producer = self.app.amqp.Producer(self._connection, auto_declare=False)
            # A copy bound to this connection's channel: ``self.exchange`` stays unbound, so the
            # connection made after a failure declares on its own channel, not the closed one.
            self.exchange.bind(self._producer.channel).declare()
            self._confirms = _Confirms.select(self._producer.channel)
        return self._producer

    def _drop_connection(self) -> None:
        connection, self._connection, self._producer = self._connection, None, None
        self._confirms = None
        if connection is not None:
            try:
                connection.release()
            except Exception:
                logger.debug("closing a broken broker connection failed", exc_info=True)

    def close(self) -> None:
        """Release the broker connection and the database listeners."""
        self._drop_connection()
        if self._wakeup is not None:
            self._wakeup.close()
            self._wakeup = None

    def wake(self) -> None:
        """End the relay's idle wait at once (safe in a signal handler)."""
        if self._wakeup is not None:
            self._wakeup.wake()

    def stop(self) -> None:
        """Ask ``run()`` to return after the batch in hand (safe in a signal handler)."""
        self._stopping.set()
        self.wake()

    def _parcels(self, messages: Sequence[ClaimedMessage]) -> list[list[ClaimedMessage]]:
        """The broker messages a claimed batch goes out as, each a list of its rows.

        One row each, in the claimed order, unless ``delivery_batch`` is above 1: then a type's
        rows travel together (the routing key is the type), in their order, at most
        ``delivery_batch`` to a message.
        """
        if self.delivery_batch == 1:
            return [[message] for message in messages]
        by_type: dict[str, list[ClaimedMessage]] = {}
        for message in messages:
            by_type.setdefault(message.event_type, []).append(message)
        size = self.delivery_batch
        return [
            rows[start : start + size]
            for rows in by_type.values()
            for start in range(0, len(rows), size)
        ]

    def _publish(self, parcel: list[ClaimedMessage]) -> list[dict[str, str]]:
        """Send one broker message of ``parcel``'s events; the request context headers of each."""
        producer = self._producer_for_publish()
        events = [json.loads(message.payload) for message in parcel]
        headers = [context_headers(event) for event in events]
        first = parcel[0]
        if len(parcel) == 1:
            name, args, task_id = DELIVER_EVENT_TASK, [events[0]], first.event_id
            # What monitoring shows as the task's arguments, instead of a repr Celery would
            # build of the whole envelope (a third of the relay's time per event).
            argsrepr = f"(<event {first.event_type} {first.event_id}>,)"
        else:
            # Several events' contexts differ: the task runs in a fresh one, each handler in
            # its event's (the consumer sets it).
            name, args, task_id = DELIVER_EVENTS_TASK, [events], f"{first.event_id}+{len(parcel)}"
            argsrepr = f"(<{len(parcel)} events {first.event_type} from {first.event_id}>,)"
        self.app.send_task(
            name,
            args=args,
            headers=headers[0] if len(parcel) == 1 else {},
            task_id=task_id,
            exchange=self.exchange.name,
            routing_key=first.event_type,
            producer=producer,
            retry=False,
            # The exchange was declared with the connection; without this Celery declares the
            # default queue of an unrouted task on every publish (a queue nobody reads).
            declare=[],
            argsrepr=argsrepr,
            kwargsrepr="{}",
        )
        return headers

    def _send(self, batch: ClaimedBatch, parcel: list[ClaimedMessage]) -> list[dict[str, str]]:
        """Publish ``parcel`` with each event's ``send`` span open (ended by sent or failed).

        One event is sent inside its span, so an instrumentation's span of the send is its child;
        several share a message, so each one's span is opened before it and none is current.
        """
        where = {"exchange": self.exchange.name, "broker_url": self.app.conf.broker_url}
        if len(parcel) == 1:
            with batch.sending(parcel[0], **where):
                return self._publish(parcel)
        for message in parcel:
            with batch.sending(message, **where):
                pass
        return self._publish(parcel)

    def relay_batch(self, alias: str) -> BatchResult:
        """Claim, publish and mark one batch of ``alias``.

        The whole batch is sent, then the broker's confirms are awaited (RabbitMQ's publisher
        confirms; other transports hold a message once the send returns), and only confirmed rows
        are marked sent. The first failed send ends the batch: its rows are rescheduled with
        backoff, and the broker connection is dropped so the next batch makes a new one. Rows sent
        but not confirmed (a nack, a connection lost while waiting) are retried the same way.
        """
        from common_utils.django.events._outbox import claim_batch

        with claim_batch(alias, limit=self.batch_size) as batch:
            sent: list[tuple[list[ClaimedMessage], int | None]] = []
            failure: tuple[list[ClaimedMessage], str] | None = None
            for parcel in self._parcels(batch.messages):
                try:
                    headers = self._send(batch, parcel)
                except Exception as exc:
                    failure = (parcel, _describe_publish_error(exc))
                    break
                confirms = self._confirms
                sent.append((parcel, confirms.published() if confirms is not None else None))
                for message, message_headers in zip(parcel, headers, strict=True):
                    log_published(message.event_id, message.event_type, message_headers)
            unconfirmed: dict[int, str] = {}
            if self._confirms is not None and sent:
                try:
                    unconfirmed = self._confirms.wait(self.confirm_timeout)
                except Exception as exc:
                    error = _describe_publish_error(exc)
                    unconfirmed = {tag: error for _, tag in sent if tag is not None}
            for parcel, tag in sent:
                for message in parcel:
                    if tag is not None and tag in unconfirmed:
                        self._failed(batch, alias, message, unconfirmed[tag])
                    else:
                        batch.sent(message)
            if failure is not None:
                for message in failure[0]:
                    self._failed(batch, alias, message, failure[1])
            if failure is not None or unconfirmed:
                self._drop_connection()
        result = batch.result
        assert result is not None
        self.stats.batches += 1
        self.stats.sent += result.sent
        self.stats.failed += result.failed
        self.stats.parked += result.parked
        return result

    @staticmethod
    def _failed(batch: ClaimedBatch, alias: str, message: ClaimedMessage, error: str) -> None:
        logger.warning(
            "publishing event %s (%s) from %r failed: %s",
            message.event_id,
            message.event_type,
            alias,
            error,
        )
        batch.failed(message, error)

    def relay_pending(self) -> int:
        """Publish the due rows of every alias, batch after batch; return how many were claimed.

        Stops early, setting ``broker_failing``, when a publish fails: the caller backs off
        instead of charging a failed attempt to every pending row while the broker is away.
        Stops early too once ``stop()`` was called, after the batch in hand.
        """
        self.broker_failing = False
        total = 0
        for alias in self.aliases:
            while not self._stopping.is_set():
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
        """Relay until ``stop()`` is called or ``stop`` is set (or, with ``until_empty``, until no
        row is pending).

        When idle it sleeps until a commit on a PostgreSQL outbox (LISTEN/NOTIFY), a ``wake()`` or
        ``poll_interval``. A ``stop`` event set from another thread is seen within
        ``poll_interval``; call ``wake()`` after setting it to stop at once. While the broker
        fails, waits with exponential backoff (``OUTBOX_BACKOFF`` doubling up to
        ``OUTBOX_MAX_BACKOFF``) between attempts.
        """
        from common_utils.django._settings import get_settings
        from common_utils.django.events._outbox import pending_count
        from common_utils.django.events._wakeup import Wakeup

        conf = get_settings()
        stop = stop or threading.Event()
        self._wakeup = Wakeup(self.aliases)

        def stopping() -> bool:
            return stop.is_set() or self._stopping.is_set()

        delay = 0.0
        try:
            # Listen before the first pass: a commit between the pass and the first wait still
            # wakes the relay.
            self._wakeup.listen()
            logger.info(
                "outbox relay running on %s: woken on commit on %s, polling every %.2f s",
                ", ".join(self.aliases) or "no database",
                ", ".join(self._wakeup.listening) or "none",
                poll_interval,
            )
            while not stopping():
                claimed = self.relay_pending()
                if stopping():
                    break
                if self.broker_failing:
                    delay = min(max(delay * 2, conf.OUTBOX_BACKOFF, 0.05), conf.OUTBOX_MAX_BACKOFF)
                    self._sleep(stop, delay)
                    continue
                delay = 0.0
                if until_empty and pending_count(self.aliases) == 0:
                    break
                if claimed == 0:
                    self._wakeup.wait(poll_interval)
        finally:
            self.close()
        return self.stats

    def _sleep(self, stop: threading.Event, seconds: float) -> None:
        """Back off for ``seconds``, ending early on ``stop()`` (commits do not end it)."""
        deadline = time.monotonic() + seconds
        while not (stop.is_set() or self._stopping.is_set()):
            left = deadline - time.monotonic()
            if left <= 0:
                return
            stop.wait(min(left, 0.1))


class _Confirms:
    """RabbitMQ publisher confirms on one channel, awaited per batch rather than per message.

    The channel is put in confirm mode once; the broker numbers the messages published on it
    from 1 and acks (or nacks) each, several at once with ``multiple``. ``wait()`` reads the
    connection until every message published since the last wait is answered.
    """

    def __init__(self, channel: Any) -> None:
        self.channel = channel
        self.last_tag = 0
        self._open: set[int] = set()
        self._nacked: set[int] = set()
        channel.confirm_select()
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)

    @classmethod
    def select(cls, channel: Any) -> _Confirms | None:
        """Confirms on ``channel`` if its transport has them (py-amqp), else ``None``."""
        from amqp.channel import Channel

        return cls(channel) if isinstance(channel, Channel) else None

    def published(self) -> int:
        """Count one message published on the channel; return its delivery tag."""
        self.last_tag += 1
        self._open.add(self.last_tag)
        return self.last_tag

    def _answered(self, delivery_tag: int, multiple: bool) -> set[int]:
        tags = {tag for tag in self._open if tag <= delivery_tag} if multiple else {delivery_tag}
        self._open -= tags
        return tags

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        self._answered(delivery_tag, multiple)

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        self._nacked |= self._answered(delivery_tag, multiple)

    def wait(self, timeout: float) -> dict[int, str]:
        """Wait for the broker's answers; return the nacked delivery tags with the reason.

        Raises what the connection raises (``socket.timeout`` past ``timeout``).
        """
        deadline = time.monotonic() + timeout
        connection = self.channel.connection
        while self._open:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(
                    f"the broker did not confirm {len(self._open)} message(s) in {timeout}s"
                )
            connection.drain_events(timeout=left)
        nacked, self._nacked = self._nacked, set()
        return dict.fromkeys(nacked, _NACKED)


_NACKED = (
    "MessageNacked: the broker refused the message (basic.nack), for example because "
    "a queue it is routed to is full and rejects publishes"
)


def _describe_publish_error(exc: BaseException) -> str:
    """Say why a publish failed, for the row's ``last_error`` and the log.

    Celery re-raises a broker's ``basic.nack`` as an ``OperationalError`` with an empty message:
    the cause chain says what happened.
    """
    from amqp.exceptions import MessageNacked

    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, MessageNacked):
            return _NACKED
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
