"""``manage.py purge_idempotency_keys``: delete the idempotency records whose time is up."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from common_utils.django._idempotency import purge_idempotency_records


class Command(BaseCommand):
    """Delete expired ``IdempotencyRecord`` rows (``COMMON_UTILS["IDEMPOTENCY_TTL"]``)."""

    help = (
        "Delete the responses kept for Idempotency-Key repeats once "
        "COMMON_UTILS['IDEMPOTENCY_TTL'] has passed, in every primary database or the one named."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare the options."""
        parser.add_argument("--database", help="the alias to purge (default: every primary)")

    def handle(self, *args: Any, **options: Any) -> None:
        """Purge and say how many records went, per database."""
        alias = options["database"]
        if alias is not None and alias not in settings.DATABASES:
            known = sorted(settings.DATABASES)
            raise CommandError(f"--database {alias!r}: not in DATABASES (known: {known})")
        for name, count in purge_idempotency_records(using=alias).items():
            self.stdout.write(f"{name}: {count} expired idempotency records deleted")
