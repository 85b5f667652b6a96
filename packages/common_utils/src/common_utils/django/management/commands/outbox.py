"""``manage.py outbox``: list, show and replay (unpark) the rows of the transactional outbox."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from common_utils._errors import CommonUtilsError
from common_utils.django.events._commands import (
    add_selection_arguments,
    has_selector,
    one_line,
    parse_time,
    pretty_json,
    selected_aliases,
)


class Command(BaseCommand):
    """Outbox rows: parked ones (publishing failed ``OUTBOX_MAX_ATTEMPTS`` times) and the rest."""

    help = (
        "The transactional outbox: `outbox list [--state parked|pending|sent|all]`, "
        "`outbox show ID`, `outbox replay --id ID | --type TYPE | --since T --until T` "
        "(parked rows become pending again; the relay publishes them)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare the subcommands and their options."""
        sub = parser.add_subparsers(dest="action", required=True, metavar="{list,show,replay}")
        listing = sub.add_parser("list", help="outbox rows, oldest first (default: parked)")
        add_selection_arguments(listing, when="written")
        listing.add_argument(
            "--state", choices=["parked", "pending", "sent", "all"], default="parked"
        )
        show = sub.add_parser("show", help="one outbox row in full, its event included")
        show.add_argument("id", type=int)
        show.add_argument("--database", action="append", dest="databases")
        replay = sub.add_parser("replay", help="make parked rows pending again, due now")
        add_selection_arguments(replay, when="written")

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the subcommand; a bad option is a one-line error."""
        try:
            getattr(self, f"_{options['action']}")(options)
        except CommonUtilsError as exc:
            raise CommandError(str(exc)) from exc

    def _select(self, alias: str, options: dict[str, Any], *, state: str) -> Any:
        from common_utils.django.events._outbox import select_outbox_rows

        return select_outbox_rows(
            alias,
            state=state,
            ids=options["ids"],
            event_type=options["event_type"],
            since=parse_time(options["since"], "--since"),
            until=parse_time(options["until"], "--until"),
        )

    def _list(self, options: dict[str, Any]) -> None:
        total = 0
        for alias in selected_aliases(options["databases"]):
            for row in self._select(alias, options, state=options["state"]):
                total += 1
                state = "sent" if row.sent_at else "parked" if row.parked_at else "pending"
                self.stdout.write(
                    f"{alias} #{row.pk} {row.created_at.isoformat()} {state} {row.event_type} "
                    f"{row.event_id} attempts={row.attempts}: {one_line(row.last_error)}"
                )
        self.stdout.write(f"{total} outbox row(s)")

    def _show(self, options: dict[str, Any]) -> None:
        from common_utils.django.models import OutboxMessage

        found = [
            (alias, row)
            for alias in selected_aliases(options["databases"])
            for row in OutboxMessage.objects.using(alias).filter(pk=options["id"])
        ]
        if not found:
            raise CommandError(f"no outbox row #{options['id']}")
        if len(found) > 1:
            raise CommandError(
                f"outbox row #{options['id']} is in {[a for a, _ in found]}: name one with "
                "--database"
            )
        alias, row = found[0]
        for label, value in (
            ("database", alias),
            ("id", row.pk),
            ("event id", row.event_id),
            ("event type", row.event_type),
            # A keyed row that is not sent holds up the key's later rows (README: ordering).
            (
                "key",
                f"{row.aggregate_key} #{row.key_sequence}"
                if row.aggregate_key is not None
                else "-",
            ),
            ("state", "sent" if row.sent_at else "parked" if row.parked_at else "pending"),
            ("created at", row.created_at.isoformat()),
            ("attempts", row.attempts),
            ("next attempt at", row.next_attempt_at.isoformat()),
            ("sent at", row.sent_at.isoformat() if row.sent_at else "-"),
            ("parked at", row.parked_at.isoformat() if row.parked_at else "-"),
            ("last error", row.last_error or "-"),
        ):
            self.stdout.write(f"{label}: {value}")
        self.stdout.write("payload:")
        self.stdout.write(pretty_json(row.payload))

    def _replay(self, options: dict[str, Any]) -> None:
        from common_utils.django.events._outbox import unpark

        if not has_selector(options):
            raise CommandError("say which parked rows to replay: --id, --type, --since or --until")
        total = 0
        for alias in selected_aliases(options["databases"]):
            count = unpark(self._select(alias, options, state="parked"))
            if count:
                self.stdout.write(f"{alias}: {count} parked row(s) due again")
            total += count
        self.stdout.write(f"{total} parked row(s) replayed: the relay publishes them next")
