"""The outbox relay: committed outbox rows published to the broker, at least once.

``OutboxRelay`` publishes outbox rows as Celery task messages to the topic exchange (routing key:
the event type) with publisher confirms, marks them sent, retries with backoff, parks after N
failures. ``manage.py outbox_relay`` runs it in a loop; ``register_relay_task()`` adds a task for
Celery beat.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from celery import Celery, Task

from common_utils.django.events._broker import (
    DELIVER_EVENT_TASK,
    RELAY_TASK,
    configured_celery_app,
    context_headers,
    event_exchange,
    verify_broker_url,
)
from common_utils.django.events._outbox import BatchResult
from common_utils.django.events._task_context import log_published

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
        exchange: str | None = None,
        connect_timeout: float = 5.0,
    ) -> None:
        from common_utils.django.events._outbox import outbox_aliases

        # Refused here, before any row is claimed: a relay publishing to the wrong broker would
        # mark every event sent.
        self.app = app if app is not None else configured_celery_app()
        verify_broker_url(self.app)
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
        headers = context_headers(event)
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
        from common_utils.django.events._outbox import claim_batch

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
                log_published(message.event_id, message.event_type, headers)
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
        from common_utils.django._settings import get_settings
        from common_utils.django.events._outbox import pending_count

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
