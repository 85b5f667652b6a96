"""Dead letters: events a consumer could not handle, kept in its database and replayed on demand.

The consumer's delivery task writes one (``record_dead_letter``) instead of dropping an event that
is unreadable, of an unknown type, or failed a handler past its retries. ``manage.py events``
lists, shows and replays them: a replay publishes the stored event to the consumer's own queue
again (publisher confirms, the request context it was published in), so only that consumer sees
it, and handlers that already had their effect skip it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from celery import Celery
from django.utils import timezone
from kombu import Queue

from common_utils._errors import ReplayError
from common_utils.django.events._broker import DELIVER_EVENT_TASK, context_headers

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from common_utils.django.models import DeadLetter


def _as_text(event: object) -> str:
    try:
        return json.dumps(event, sort_keys=True)
    except (TypeError, ValueError):
        return repr(event)


def record_dead_letter(
    using: str,
    *,
    event: object,
    queue: str,
    reason: str,
    error: str,
    attempts: int,
    handler: str = "",
) -> DeadLetter:
    """Keep ``event`` (as received) in the dead-letter table of database ``using``."""
    from common_utils.django.models import DeadLetter

    doc = event if isinstance(event, dict) else {}
    event_id, event_type = doc.get("id"), doc.get("type")
    return DeadLetter.objects.using(using).create(
        event_id=event_id[:200] if isinstance(event_id, str) else "",
        event_type=event_type[:200] if isinstance(event_type, str) else "",
        queue=queue,
        handler=handler[:200],
        reason=reason,
        error=error[:4000],
        attempts=attempts,
        envelope=_as_text(event),
        dead_at=timezone.now(),
    )


def select_dead_letters(
    using: str,
    *,
    ids: Sequence[int] = (),
    event_type: str | None = None,
    reason: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    include_replayed: bool = False,
) -> QuerySet[DeadLetter]:
    """The dead letters of ``using`` that match every filter given, oldest first.

    ``since`` and ``until`` bound when the event was dead-lettered (``since`` included,
    ``until`` excluded). Replayed ones are left out unless ``include_replayed``.
    """
    from common_utils.django.models import DeadLetter

    rows = DeadLetter.objects.using(using).all()
    if ids:
        rows = rows.filter(pk__in=list(ids))
    if event_type is not None:
        rows = rows.filter(event_type=event_type)
    if reason is not None:
        rows = rows.filter(reason=reason)
    if since is not None:
        rows = rows.filter(dead_at__gte=since)
    if until is not None:
        rows = rows.filter(dead_at__lt=until)
    if not include_replayed:
        rows = rows.filter(replayed_at__isnull=True)
    return rows.order_by("dead_at", "id")


def replay_dead_letters(
    app: Celery, letters: Iterable[DeadLetter], *, connect_timeout: float = 5.0
) -> list[int]:
    """Publish each dead letter's event to its consumer's queue again; return the replayed ids.

    Each is marked ``replayed_at`` once the broker confirmed it. Raises ``ReplayError`` naming
    the dead letter when its event is not JSON, its queue does not exist on the broker, or the
    publish fails; the ones before it stay replayed.
    """
    replayed: list[int] = []
    with app.connection_for_write(
        transport_options={"confirm_publish": True, "max_retries": 1},
        connect_timeout=connect_timeout,
    ) as connection:
        producer = app.amqp.Producer(connection, auto_declare=False)
        declared: set[str] = set()
        for letter in letters:
            where = f"dead letter {letter.pk} (event {letter.event_id or '?'})"
            try:
                event: Any = json.loads(letter.envelope)
            except ValueError:
                raise ReplayError(f"{where} cannot be replayed: it is not JSON") from None
            try:
                if letter.queue not in declared and connection.transport.driver_type == "amqp":
                    # AMQP's default exchange drops a message for a queue that does not exist
                    # (kombu's virtual transports, Redis and the filesystem, store it anyway).
                    Queue(letter.queue).bind(connection.default_channel).queue_declare(passive=True)
                    declared.add(letter.queue)
                app.send_task(
                    DELIVER_EVENT_TASK,
                    args=[event],
                    headers=context_headers(event) if isinstance(event, dict) else {},
                    task_id=letter.event_id or str(uuid.uuid4()),
                    # A queue object, or Celery merges in its default queue and sends the
                    # event to ``celery`` instead; the queue exists (checked above).
                    # Celery takes a Queue here (its router expands names to them); the stubs
                    # know only names.
                    queue=Queue(letter.queue),  # type: ignore[arg-type]
                    declare=[],
                    producer=producer,
                    retry=False,
                )
            except Exception as exc:
                raise ReplayError(
                    f"{where} was not replayed to queue {letter.queue!r}: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            type(letter).objects.using(letter._state.db).filter(pk=letter.pk).update(
                replayed_at=timezone.now()
            )
            replayed.append(letter.pk)
    return replayed


@dataclass(frozen=True, slots=True)
class PrunedRecords:
    """What ``prune_consumer_records`` deleted from one database."""

    processed: int
    positions: int
    dead_letters: int


def prune_consumer_records(alias: str, *, older_than_days: float) -> PrunedRecords:
    """Delete what a consumer keeps of events older than ``older_than_days`` in ``alias``.

    - the handled-event records (``ProcessedEvent``) that make a redelivered event's effect
      single: an event delivered again after this long is handled again;
    - the positions of keys with no event finished since (``EventKeyPosition``): a key's next
      event, naming an earlier one the consumer no longer knows, waits the consumer's
      ``order_gap_timeout`` for it, then goes on;
    - dead letters replayed before then.

    Never an event not yet handled: arrivals (events waiting their turn) and dead letters not
    replayed stay.
    """
    from django.db import transaction

    from common_utils.django.models import DeadLetter, EventKeyPosition, ProcessedEvent

    cutoff = timezone.now() - timedelta(days=older_than_days)
    with transaction.atomic(using=alias):
        processed, _ = ProcessedEvent.objects.using(alias).filter(processed_at__lt=cutoff).delete()
        positions, _ = EventKeyPosition.objects.using(alias).filter(updated_at__lt=cutoff).delete()
        dead_letters, _ = DeadLetter.objects.using(alias).filter(replayed_at__lt=cutoff).delete()
    return PrunedRecords(processed=processed, positions=positions, dead_letters=dead_letters)
