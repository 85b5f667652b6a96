"""``manage.py migrate_all``: run ``migrate`` on every database, since one run migrates one."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connections

from common_utils.django._settings import get_settings


class Command(BaseCommand):
    """Migrate every primary database (read replicas are skipped: they follow their primary)."""

    help = "Run migrate on every database in DATABASES except read replicas."

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare the options."""
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive")

    def handle(self, *args: Any, **options: Any) -> None:
        """Call ``migrate --database <alias>`` for each primary alias."""
        replicas = {r for rs in get_settings().READ_REPLICAS.values() for r in rs}
        for alias in connections:
            if alias in replicas:
                continue
            if options["verbosity"] >= 1:
                self.stdout.write(f"Migrating database {alias!r}")
            call_command(
                "migrate",
                database=alias,
                interactive=options["interactive"],
                verbosity=options["verbosity"],
                stdout=self.stdout,
                stderr=self.stderr,
            )
