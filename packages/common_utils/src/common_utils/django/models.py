"""The tables of common-utils: the outbox, the consumers' processed events and dead letters."""

from __future__ import annotations

from datetime import datetime

from django.db import models


class OutboxMessage(models.Model):
    """An event waiting to be published, written in the business transaction's own database.

    A row is pending while ``sent_at`` and ``parked_at`` are empty; the relay publishes pending rows
    whose ``next_attempt_at`` has come, then sets ``sent_at``. After ``OUTBOX_MAX_ATTEMPTS`` failed
    publishes it sets ``parked_at`` and leaves the row for a person to look at.

    A keyed row (``aggregate_key`` set by ``publish(..., key=...)``) carries its place in the
    key's sequence: the relay publishes it only once every earlier row of the key is sent, so a
    parked row holds up its key (and only its key) until it is replayed.
    """

    id: models.BigAutoField[int, int] = models.BigAutoField(primary_key=True)
    event_id: models.CharField[str, str] = models.CharField(max_length=200, unique=True)
    event_type: models.CharField[str, str] = models.CharField(max_length=200)
    payload: models.TextField[str, str] = models.TextField(
        help_text="The event in the CloudEvents JSON format."
    )
    created_at: models.DateTimeField[datetime, datetime] = models.DateTimeField()
    next_attempt_at: models.DateTimeField[datetime, datetime] = models.DateTimeField()
    attempts: models.PositiveIntegerField[int, int] = models.PositiveIntegerField(default=0)
    last_error: models.TextField[str, str] = models.TextField(blank=True, default="")
    sent_at: models.DateTimeField[datetime | None, datetime | None] = models.DateTimeField(
        null=True, blank=True
    )
    parked_at: models.DateTimeField[datetime | None, datetime | None] = models.DateTimeField(
        null=True, blank=True
    )
    aggregate_key: models.CharField[str | None, str | None] = models.CharField(
        max_length=200, null=True, blank=True, help_text="The aggregate the event belongs to."
    )
    key_sequence: models.PositiveBigIntegerField[int | None, int | None] = (
        models.PositiveBigIntegerField(
            null=True, blank=True, help_text="1, 2, 3 … within the key, in commit order."
        )
    )

    class Meta:
        app_label = "common_utils"
        db_table = "common_utils_outbox"
        indexes = (
            models.Index(
                fields=["next_attempt_at", "id"],
                name="common_utils_outbox_pending",
                condition=models.Q(sent_at__isnull=True, parked_at__isnull=True),
            ),
            # The relay's test "is an earlier row of this key still unsent?".
            models.Index(
                fields=["aggregate_key", "key_sequence"],
                name="common_utils_outbox_by_key",
                condition=models.Q(sent_at__isnull=True, aggregate_key__isnull=False),
            ),
        )

    def __str__(self) -> str:
        """Name the event and its state."""
        state = "sent" if self.sent_at else "parked" if self.parked_at else "pending"
        return f"{self.event_type} {self.event_id} ({state})"


class OutboxKey(models.Model):
    """Where each aggregate key's sequence stands, in the database of its outbox.

    ``publish(..., key=...)`` locks the key's row for the rest of its transaction, so the events
    of one key are numbered in the order their transactions commit. ``last_by_type`` (JSON) is
    the last number given to each event type: an event carries the ones before it, so that a
    consumer of only some of the types knows which earlier event it must wait for.
    """

    id: models.BigAutoField[int, int] = models.BigAutoField(primary_key=True)
    key: models.CharField[str, str] = models.CharField(max_length=200, unique=True)
    last_sequence: models.PositiveBigIntegerField[int, int] = models.PositiveBigIntegerField(
        default=0
    )
    last_by_type: models.TextField[str, str] = models.TextField(default="{}")

    class Meta:
        app_label = "common_utils"
        db_table = "common_utils_outbox_key"

    def __str__(self) -> str:
        """Name the key and its last number."""
        return f"{self.key} at {self.last_sequence}"


class ProcessedEvent(models.Model):
    """The record that a consumer's handler has had its effect for an event id."""

    id: models.BigAutoField[int, int] = models.BigAutoField(primary_key=True)
    event_id: models.CharField[str, str] = models.CharField(max_length=200)
    handler: models.CharField[str, str] = models.CharField(max_length=200)
    processed_at: models.DateTimeField[datetime, datetime] = models.DateTimeField()

    class Meta:
        app_label = "common_utils"
        db_table = "common_utils_processed_event"
        constraints = (
            models.UniqueConstraint(
                fields=["event_id", "handler"], name="common_utils_processed_once"
            ),
        )

    def __str__(self) -> str:
        """Name the event and the handler."""
        return f"{self.event_id} by {self.handler}"


class DeadLetter(models.Model):
    """An event a consumer could not handle, kept with why, how often it was tried, and as sent.

    Written in the consuming service's database (the consumer's ``using``) when an event is
    unreadable, of a type no handler knows, or failed a handler past the consumer's retries.
    ``manage.py events replay`` sends it to ``queue`` again and sets ``replayed_at``; an event that
    fails again becomes a new dead letter.
    """

    class Reason(models.TextChoices):
        """Why the event could not be handled."""

        UNREADABLE = "unreadable", "not a valid event envelope"
        UNKNOWN_TYPE = "unknown-type", "no event class is registered for its type"
        HANDLER_FAILED = "handler-failed", "a handler failed on every attempt"

    id: models.BigAutoField[int, int] = models.BigAutoField(primary_key=True)
    event_id: models.CharField[str, str] = models.CharField(max_length=200, blank=True)
    event_type: models.CharField[str, str] = models.CharField(max_length=200, blank=True)
    queue: models.CharField[str, str] = models.CharField(
        max_length=200, help_text="The consumer's queue: where a replay sends the event."
    )
    handler: models.CharField[str, str] = models.CharField(
        max_length=200, blank=True, help_text="The handler that failed, for handler-failed."
    )
    reason: models.CharField[str, str] = models.CharField(max_length=20, choices=Reason.choices)
    error: models.TextField[str, str] = models.TextField(blank=True, default="")
    attempts: models.PositiveIntegerField[int, int] = models.PositiveIntegerField()
    envelope: models.TextField[str, str] = models.TextField(
        help_text="The message's event as received (JSON)."
    )
    dead_at: models.DateTimeField[datetime, datetime] = models.DateTimeField()
    replayed_at: models.DateTimeField[datetime | None, datetime | None] = models.DateTimeField(
        null=True, blank=True
    )

    class Meta:
        app_label = "common_utils"
        db_table = "common_utils_dead_letter"
        indexes = (models.Index(fields=["dead_at", "id"], name="common_utils_dead_letter_at"),)

    def __str__(self) -> str:
        """Name the event and why it is here."""
        return f"{self.event_type or '?'} {self.event_id or '?'} ({self.reason})"


class EventKeyPosition(models.Model):
    """How far a consumer has come in one aggregate key's events: the last one it finished.

    Finished is handled or dead-lettered. A keyed event is handled only once the event before it
    (among the types the consumer handles) is finished; ``sequence`` only grows.
    """

    id: models.BigAutoField[int, int] = models.BigAutoField(primary_key=True)
    consumer: models.CharField[str, str] = models.CharField(
        max_length=200, help_text="The consumer's queue."
    )
    source: models.CharField[str, str] = models.CharField(
        max_length=200, help_text="The producer (the event's source)."
    )
    key: models.CharField[str, str] = models.CharField(max_length=200)
    sequence: models.PositiveBigIntegerField[int, int] = models.PositiveBigIntegerField()
    updated_at: models.DateTimeField[datetime, datetime] = models.DateTimeField()

    class Meta:
        app_label = "common_utils"
        db_table = "common_utils_event_key_position"
        constraints = (
            models.UniqueConstraint(
                fields=["consumer", "source", "key"], name="common_utils_event_key_position_once"
            ),
        )

    def __str__(self) -> str:
        """Name the consumer, the key and the position."""
        return f"{self.consumer}: {self.source} {self.key} at {self.sequence}"


class EventKeyArrival(models.Model):
    """A keyed event a consumer has received and not yet finished (waiting or being retried).

    While the event a successor waits for is here, the successor waits however long its retries
    take; an event that never arrived is waited for ``EventConsumer.order_gap_timeout`` only.
    """

    id: models.BigAutoField[int, int] = models.BigAutoField(primary_key=True)
    consumer: models.CharField[str, str] = models.CharField(max_length=200)
    source: models.CharField[str, str] = models.CharField(max_length=200)
    key: models.CharField[str, str] = models.CharField(max_length=200)
    sequence: models.PositiveBigIntegerField[int, int] = models.PositiveBigIntegerField()
    arrived_at: models.DateTimeField[datetime, datetime] = models.DateTimeField()

    class Meta:
        app_label = "common_utils"
        db_table = "common_utils_event_key_arrival"
        constraints = (
            models.UniqueConstraint(
                fields=["consumer", "source", "key", "sequence"],
                name="common_utils_event_key_arrival_once",
            ),
        )

    def __str__(self) -> str:
        """Name the consumer, the key and the event's number."""
        return f"{self.consumer}: {self.source} {self.key} #{self.sequence} waiting"


class IdempotencyRecord(models.Model):
    """The answer given to one caller's request under one ``Idempotency-Key``, kept for repeats.

    Written by ``IdempotencyMiddleware`` in the same transaction as the view's own writes, so the
    record exists exactly when the request had its effect; the unique ``(caller, key)`` constraint
    makes a concurrent duplicate wait for it (or fail) instead of acting a second time. ``body`` is
    ``None`` when the response was streamed or larger than ``IDEMPOTENCY_MAX_RESPONSE_BYTES``.
    """

    id: models.BigAutoField[int, int] = models.BigAutoField(primary_key=True)
    caller: models.CharField[str, str] = models.CharField(
        max_length=255, help_text="Who sent the request: 'user:<id>', or 'anonymous'."
    )
    key: models.CharField[str, str] = models.CharField(
        max_length=255, help_text="The Idempotency-Key header as sent."
    )
    request_hash: models.CharField[str, str] = models.CharField(
        max_length=64, help_text="SHA-256 of the method, path, content type and body."
    )
    request_line: models.CharField[str, str] = models.CharField(
        max_length=300, help_text="Method and path of the first request, for people."
    )
    status: models.PositiveSmallIntegerField[int | None, int | None] = (
        models.PositiveSmallIntegerField(
            null=True, blank=True, help_text="The response's status (null while it runs)."
        )
    )
    headers: models.TextField[str, str] = models.TextField(
        default="[]", help_text="The response headers replayed, as a JSON list of pairs."
    )
    body: models.BinaryField[bytes | None, bytes | None] = models.BinaryField(null=True, blank=True)
    body_size: models.PositiveBigIntegerField[int, int] = models.PositiveBigIntegerField(default=0)
    created_at: models.DateTimeField[datetime, datetime] = models.DateTimeField()
    expires_at: models.DateTimeField[datetime, datetime] = models.DateTimeField()

    class Meta:
        app_label = "common_utils"
        db_table = "common_utils_idempotency_record"
        constraints = (
            models.UniqueConstraint(fields=["caller", "key"], name="common_utils_idempotency_once"),
        )
        indexes = (models.Index(fields=["expires_at"], name="common_utils_idempotency_exp"),)

    def __str__(self) -> str:
        """Name the key, the caller and the answer."""
        return f"{self.key} of {self.caller}: {self.request_line} -> {self.status}"
