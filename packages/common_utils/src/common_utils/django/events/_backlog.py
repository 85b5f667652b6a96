"""The event backlog of a service: what waits in its outbox and what its consumer dead-lettered."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Min, Q
from django.utils import timezone

from common_utils.django._settings import CommonUtilsSettings


@dataclass(frozen=True, slots=True)
class Backlog:
    """Counts over the outboxes and dead-letter tables of some databases."""

    pending: int = 0
    parked: int = 0
    dead_letters: int = 0
    oldest_pending_age: float | None = None
    """Seconds since the oldest pending outbox row was written; ``None`` when none is pending."""

    def problems(self, conf: CommonUtilsSettings) -> list[str]:
        """What is past its ``COMMON_UTILS["BACKLOG_MAX_*"]`` threshold, each naming the setting."""
        found = []
        for value, limit, name, what in (
            (self.pending, conf.BACKLOG_MAX_PENDING, "BACKLOG_MAX_PENDING", "events pending"),
            (self.parked, conf.BACKLOG_MAX_PARKED, "BACKLOG_MAX_PARKED", "events parked"),
            (
                self.dead_letters,
                conf.BACKLOG_MAX_DEAD_LETTERS,
                "BACKLOG_MAX_DEAD_LETTERS",
                "dead letters not replayed",
            ),
            (
                self.oldest_pending_age,
                conf.BACKLOG_MAX_PENDING_AGE,
                "BACKLOG_MAX_PENDING_AGE",
                "seconds since the oldest pending event was written",
            ),
        ):
            if limit is not None and value is not None and value > limit:
                found.append(f"{round(value, 1)} {what}, over COMMON_UTILS[{name!r}] = {limit}")
        return found


def backlog(aliases: Iterable[str]) -> Backlog:
    """Count the backlog in the outbox and dead-letter tables of ``aliases``."""
    from common_utils.django.models import DeadLetter, OutboxMessage

    pending = parked = dead = 0
    oldest = None
    unsent = Q(sent_at__isnull=True)
    for alias in aliases:
        row = OutboxMessage.objects.using(alias).aggregate(
            pending=Count("pk", filter=unsent & Q(parked_at__isnull=True)),
            parked=Count("pk", filter=unsent & Q(parked_at__isnull=False)),
            oldest=Min("created_at", filter=unsent & Q(parked_at__isnull=True)),
        )
        pending += row["pending"]
        parked += row["parked"]
        if row["oldest"] is not None and (oldest is None or row["oldest"] < oldest):
            oldest = row["oldest"]
        dead += DeadLetter.objects.using(alias).filter(replayed_at__isnull=True).count()
    age = None if oldest is None else max((timezone.now() - oldest).total_seconds(), 0.0)
    return Backlog(pending=pending, parked=parked, dead_letters=dead, oldest_pending_age=age)
