"""The transactional outbox: ``publish()`` writes an event row in the caller's transaction.

The event exists exactly when the business transaction commits: the row is written through the
same connection, inside the same ``transaction.atomic()``. A relay (``OutboxRelay`` in
``_relay``, run by ``manage.py outbox_relay`` or a Celery beat task) publishes the rows later, at
least once; consumers deduplicate by event id.

This module holds the database side of the relay too: claiming a batch (``SELECT … FOR UPDATE
SKIP LOCKED`` where the database has it, a lease taken under SQLite's write lock where it does not,
so several relays share the work), marking rows sent, and scheduling retries with exponential
backoff until a row is parked.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Exists, Model, OuterRef, Q
from django.utils import timezone

from common_utils._errors import NoTransactionError, OutboxError
from common_utils._events import Envelope
from common_utils.django._settings import get_settings
from common_utils.django._transactions import database_for
from common_utils.django.events._wakeup import notify_relays

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from common_utils.django.events._tracing import SendSpans
    from common_utils.django.models import OutboxMessage


def publish(
    event: Envelope[Any],
    *,
    using: str | type[Model] | Model | None = None,
    key: str | None = None,
) -> None:
    """Write ``event`` to the outbox of the current transaction's database.

    ``using`` names the database: an alias, or a model / instance whose database the router
    picks. Without it, the one database with an open ``transaction.atomic()`` block is used.
    Raises ``NoTransactionError`` when that database has no open transaction (an outbox row
    written in autocommit would be published even if the business write later failed), or
    when several databases have one and ``using`` does not say which.

    ``key`` names the aggregate the event is about (``key=str(order.id)``): the events of one
    key reach each consumer in the order their transactions committed (see the README's
    ordering section). The key's counter row stays locked until this transaction ends, so
    concurrent transactions publishing to the same key take turns; other keys do not wait.
    Publish one key's events on one database. Raises ``OutboxError`` for a key that is empty
    or longer than 200 characters, or an event that already carries a key.

    The write is a ``create <event type>`` span (OpenTelemetry, a child of the current span); its
    context becomes the envelope's ``traceparent`` (and ``tracestate``), so the relay's and the
    consumers' spans join the trace of the request that published the event.
    """
    alias = _resolve_alias(using)
    if not connections[alias].in_atomic_block:
        raise NoTransactionError(
            f"publish({event.type!r}) needs transaction.atomic(using={alias!r}) around it, so "
            "that the event is committed with the data it describes"
        )
    from common_utils.django.events import _tracing
    from common_utils.django.models import OutboxMessage

    if key is not None:
        _check_key(key, event)
    with _tracing.creating(event, alias) as trace_fields:
        sequence: int | None = None
        update: dict[str, object] = dict(trace_fields)  # the create span is the creation context
        if key is not None:
            sequence, prior = _next_in_key(alias, key, event.type)
            update.update(partitionkey=key, keysequence=sequence, keyprior=prior or None)
        if update:
            event = event.model_copy(update=update)
        now = timezone.now()
        OutboxMessage.objects.using(alias).create(
            event_id=event.id,
            event_type=event.type,
            payload=event.to_json(),
            created_at=now,
            next_attempt_at=now,
            aggregate_key=key,
            key_sequence=sequence,
        )
        # In the same transaction: the relays hear of the row when it commits, not at their next
        # poll.
        notify_relays(alias)
    _tracing.count_published_on_commit(event.type, alias)


MAX_KEY_LENGTH = 200


def _check_key(key: object, event: Envelope[Any]) -> None:
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise OutboxError(
            f"publish({event.type!r}, key=...): the key must be a string of 1 to "
            f"{MAX_KEY_LENGTH} characters, not {str(key)[:60]!r}"
            + (f" ({len(key)} characters)" if isinstance(key, str) and key else "")
        )
    if event.partitionkey is not None:
        raise OutboxError(
            f"publish({event.type!r}, key={key!r}): event {event.id} already carries key "
            f"{event.partitionkey!r} (number {event.keysequence}); publish a new event"
        )


def _next_in_key(alias: str, key: str, event_type: str) -> tuple[int, str]:
    """Number the next event of ``key``; the ``keyprior`` words of the events before it.

    The counter row is locked (``SELECT … FOR UPDATE``) until the caller's transaction ends:
    a second transaction numbering the same key waits here, then reads what the first
    committed, so numbers follow commit order. SQLite has one writer at a time anyway.
    """
    from common_utils.django.models import OutboxKey

    counters = OutboxKey.objects.using(alias)
    row = counters.select_for_update().filter(key=key).first()
    if row is None:
        # Two first events of a key: the second insert waits for the first's commit, then
        # does nothing, and both lock the one row.
        counters.bulk_create([OutboxKey(key=key)], ignore_conflicts=True)
        row = counters.select_for_update().get(key=key)
    try:
        last_by_type = json.loads(row.last_by_type)
        prior = " ".join(f"{name}:{int(n)}" for name, n in sorted(last_by_type.items()))
    except (ValueError, TypeError, AttributeError) as exc:
        raise OutboxError(
            f"the outbox key {key!r} on {alias!r} has an unreadable last_by_type: {exc}"
        ) from None
    sequence = row.last_sequence + 1
    last_by_type[event_type] = sequence
    counters.filter(pk=row.pk).update(
        last_sequence=sequence, last_by_type=json.dumps(last_by_type, sort_keys=True)
    )
    return sequence, prior


def _resolve_alias(using: str | type[Model] | Model | None) -> str:
    if isinstance(using, str):
        return using
    if using is not None:
        return database_for(using)
    open_blocks = [alias for alias in connections if connections[alias].in_atomic_block]
    if len(open_blocks) == 1:
        return open_blocks[0]
    if not open_blocks:
        raise NoTransactionError(
            "publish() needs an open transaction.atomic() on the database of the data it "
            "describes; none is open"
        )
    raise NoTransactionError(
        f"publish() found open transactions on {sorted(open_blocks)}: pass using= to say which "
        "database the event belongs to"
    )


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    """One outbox row claimed by a relay for publishing."""

    pk: int
    event_id: str
    event_type: str
    payload: str
    attempts: int
    due_at: datetime | None = None
    """When the row became due: a leased row not published gets it back."""


@dataclass(slots=True)
class BatchResult:
    """What happened to one claimed batch."""

    claimed: int = 0
    sent: int = 0
    failed: int = 0
    parked: int = 0


class ClaimedBatch:
    """A batch of rows locked by this relay until the batch's transaction ends.

    Call ``sent(msg)`` or ``failed(msg, error)`` for each message; the rows are updated when the
    ``claim_batch()`` block exits, in the same transaction that holds their locks.
    """

    def __init__(self, alias: str, messages: Sequence[ClaimedMessage]) -> None:
        self.alias = alias
        self.messages = messages
        self._sent: list[int] = []
        self._failed: list[tuple[ClaimedMessage, str]] = []
        self._spans: SendSpans | None = None
        self.result: BatchResult | None = None

    def sending(
        self, message: ClaimedMessage, *, exchange: str, broker_url: str | None
    ) -> AbstractContextManager[None]:
        """Wrap the broker send of ``message`` in its ``send`` span (ended by ``sent``/``failed``).

        The span is a child of, and linked to, the event's creation context (``publish()``'s
        span, read from the row). Nothing is done while no tracing SDK is configured.
        """
        from common_utils._tracing import records_spans
        from common_utils.django.events._tracing import SendSpans

        if not records_spans():
            return nullcontext()
        if self._spans is None:
            self._spans = SendSpans(
                alias=self.alias, exchange=exchange, broker_url=broker_url, size=len(self.messages)
            )
        return self._spans.sending(
            message.pk, message.event_id, message.event_type, message.payload
        )

    def sent(self, message: ClaimedMessage) -> None:
        """Record that the broker confirmed ``message``."""
        self._sent.append(message.pk)
        if self._spans is not None:
            self._spans.sent(message.pk)

    def failed(self, message: ClaimedMessage, error: str) -> None:
        """Record that publishing ``message`` failed with ``error``."""
        self._failed.append((message, error))
        if self._spans is not None:
            self._spans.failed(message.pk, error)

    def _apply(self, *, lease_until: datetime | None = None) -> BatchResult:
        from common_utils.django.models import OutboxMessage

        conf = get_settings()
        now = timezone.now()
        rows = OutboxMessage.objects.using(self.alias)
        result = BatchResult(claimed=len(self.messages), sent=len(self._sent))
        if self._sent:
            rows.filter(pk__in=self._sent).update(sent_at=now)
        for message, error in self._failed:
            attempts = message.attempts + 1
            if attempts >= conf.OUTBOX_MAX_ATTEMPTS:
                result.parked += 1
                rows.filter(pk=message.pk).update(
                    attempts=attempts, last_error=error[:2000], parked_at=now
                )
            else:
                result.failed += 1
                rows.filter(pk=message.pk).update(
                    attempts=attempts,
                    last_error=error[:2000],
                    next_attempt_at=now + _backoff(attempts),
                )
        if lease_until is not None:
            done = {*self._sent, *(message.pk for message, _ in self._failed)}
            for message in self.messages:
                if message.pk not in done:
                    # Only while the lease is still ours: after it ran out another relay may
                    # have claimed the row, and its lease must stand.
                    rows.filter(pk=message.pk, next_attempt_at=lease_until).update(
                        next_attempt_at=message.due_at or now
                    )
        from common_utils.django.events._tracing import count_relayed

        if self._spans is not None:
            self._spans.close()
        count_relayed(self.alias, sent=result.sent, retry=result.failed, parked=result.parked)
        return result


def _backoff(attempts: int) -> timedelta:
    conf = get_settings()
    delay = min(conf.OUTBOX_BACKOFF * 2 ** (attempts - 1), conf.OUTBOX_MAX_BACKOFF)
    # Full jitter keeps relays that failed together from retrying together.
    return timedelta(seconds=random.uniform(delay / 2, delay))  # noqa: S311 - not security


@contextmanager
def claim_batch(
    alias: str = DEFAULT_DB_ALIAS, *, limit: int | None = None, now: datetime | None = None
) -> Iterator[ClaimedBatch]:
    """Claim up to ``limit`` due, pending outbox rows of ``alias`` for the ``with`` block.

    Several relays may run at once, and each row is claimed by one of them:

    - On databases with ``SKIP LOCKED`` (PostgreSQL, MySQL 8, MariaDB 10.6, Oracle) the rows are
      locked by a transaction around the block; concurrent relays skip them and claim disjoint
      batches. If the process dies inside the block, the transaction rolls back and the rows are
      due again at once.
    - Elsewhere (SQLite) the claim is a short transaction that takes the database's write lock
      first, so relays take turns, and leases the rows: their ``next_attempt_at`` moves
      ``OUTBOX_CLAIM_TIMEOUT`` ahead. The block runs outside any transaction (the database is not
      locked while the broker is called) and its outcome is written in a second short one; rows
      neither sent nor failed get their due time back. If the process dies inside the block, its
      rows are due again when the lease ends.
    """
    size = limit or get_settings().OUTBOX_BATCH_SIZE
    if connections[alias].features.has_select_for_update_skip_locked:
        with transaction.atomic(using=alias):
            batch = ClaimedBatch(alias, _due(alias, size, now, lock=True))
            yield batch
            batch.result = batch._apply()
        return
    batch, lease_until = _lease(alias, size, now)
    try:
        yield batch
    finally:
        with transaction.atomic(using=alias):
            batch.result = batch._apply(lease_until=lease_until)


def _due(alias: str, size: int, now: datetime | None, *, lock: bool) -> list[ClaimedMessage]:
    from common_utils.django.models import OutboxMessage

    query = OutboxMessage.objects.using(alias).filter(
        sent_at__isnull=True, parked_at__isnull=True, next_attempt_at__lte=now or timezone.now()
    )
    # A keyed row only when it heads its key: no earlier row of the key is unsent, whether due,
    # parked, leased or locked by another relay. So a key's events reach the broker one after
    # the other, in their order, while the heads of different keys go out together.
    earlier = OutboxMessage.objects.using(alias).filter(
        aggregate_key=OuterRef("aggregate_key"),
        key_sequence__lt=OuterRef("key_sequence"),
        sent_at__isnull=True,
    )
    query = query.filter(Q(aggregate_key__isnull=True) | ~Exists(earlier))
    if lock:
        query = query.select_for_update(skip_locked=True)
    return [
        ClaimedMessage(
            pk=row["pk"],
            event_id=row["event_id"],
            event_type=row["event_type"],
            payload=row["payload"],
            attempts=row["attempts"],
            due_at=row["next_attempt_at"],
        )
        for row in query.order_by("next_attempt_at", "id").values(
            "pk", "event_id", "event_type", "payload", "attempts", "next_attempt_at"
        )[:size]
    ]


def _lease(alias: str, size: int, now: datetime | None) -> tuple[ClaimedBatch, datetime]:
    """Claim a batch without row locks: one relay at a time, rows leased by their due time."""
    from common_utils.django.models import OutboxMessage

    connection = connections[alias]
    now = now or timezone.now()
    lease_until = now + timedelta(seconds=get_settings().OUTBOX_CLAIM_TIMEOUT)
    with transaction.atomic(using=alias):
        table = connection.ops.quote_name(OutboxMessage._meta.db_table)
        with connection.cursor() as cursor:
            # A write before the first read: SQLite takes its write lock now, so two relays never
            # read the same due rows, and a deferred transaction never has to upgrade a read lock
            # (which fails at once with "database is locked" instead of waiting its turn).
            cursor.execute(f"UPDATE {table} SET id = id WHERE 1 = 0")  # noqa: S608 - quoted name
        messages = _due(alias, size, now, lock=False)
        if messages:
            OutboxMessage.objects.using(alias).filter(pk__in=[m.pk for m in messages]).update(
                next_attempt_at=lease_until
            )
    return ClaimedBatch(alias, messages), lease_until


def outbox_aliases() -> list[str]:
    """Return the aliases that hold an outbox: every database that is not a read replica."""
    replicas = {r for rs in get_settings().READ_REPLICAS.values() for r in rs}
    return [alias for alias in connections if alias not in replicas]


def pending_count(aliases: Iterable[str]) -> int:
    """Return how many rows of the given outboxes are neither sent nor parked."""
    from common_utils.django.models import OutboxMessage

    return sum(
        OutboxMessage.objects.using(alias)
        .filter(sent_at__isnull=True, parked_at__isnull=True)
        .count()
        for alias in aliases
    )


def select_outbox_rows(
    alias: str,
    *,
    state: str = "parked",
    ids: Sequence[int] = (),
    event_type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[OutboxMessage]:
    """The outbox rows of ``alias`` in ``state`` (parked, pending, sent or all) that match.

    ``since`` (included) and ``until`` (excluded) bound when the event was written. Oldest first.
    """
    from common_utils.django.models import OutboxMessage

    rows = OutboxMessage.objects.using(alias).all()
    if state == "parked":
        rows = rows.filter(parked_at__isnull=False, sent_at__isnull=True)
    elif state == "pending":
        rows = rows.filter(parked_at__isnull=True, sent_at__isnull=True)
    elif state == "sent":
        rows = rows.filter(sent_at__isnull=False)
    elif state != "all":
        raise OutboxError(f"state must be parked, pending, sent or all, not {state!r}")
    if ids:
        rows = rows.filter(pk__in=list(ids))
    if event_type is not None:
        rows = rows.filter(event_type=event_type)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    if until is not None:
        rows = rows.filter(created_at__lt=until)
    return rows.order_by("created_at", "id")


def unpark(rows: QuerySet[OutboxMessage]) -> int:
    """Make parked ``rows`` pending again, due now with a fresh count of attempts.

    The relay publishes them on its next pass; ``last_error`` keeps the last failure until then.
    Rows that are not parked are left alone. Returns how many were unparked.
    """
    return rows.filter(parked_at__isnull=False, sent_at__isnull=True).update(
        parked_at=None, attempts=0, next_attempt_at=timezone.now()
    )
