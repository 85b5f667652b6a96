"""``manage.py events``: the dead letters of this service's consumer; pruning what it keeps."""

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
    """Dead letters: events the consumer could not handle, kept with reason, attempts, envelope."""

    help = (
        "Dead letters of this service's event consumer: `events list`, `events show ID`, "
        "`events replay --id ID | --type TYPE | --since T --until T`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare the subcommands and their options."""
        sub = parser.add_subparsers(
            dest="action", required=True, metavar="{list,show,replay,prune}"
        )
        listing = sub.add_parser("list", help="dead letters, oldest first")
        add_selection_arguments(listing, when="dead-lettered")
        listing.add_argument("--reason", choices=["unreadable", "unknown-type", "handler-failed"])
        listing.add_argument("--all", action="store_true", help="include replayed ones")
        show = sub.add_parser("show", help="one dead letter in full, its event included")
        show.add_argument("id", type=int)
        show.add_argument("--database", action="append", dest="databases")
        replay = sub.add_parser("replay", help="send dead letters to their consumer's queue again")
        add_selection_arguments(replay, when="dead-lettered")
        replay.add_argument("--reason", choices=["unreadable", "unknown-type", "handler-failed"])
        replay.add_argument("--app", help="Celery app as module:attribute")
        prune = sub.add_parser(
            "prune",
            help="delete handled-event records, idle keys' positions and replayed dead letters "
            "older than --days",
        )
        prune.add_argument("--days", type=float, required=True, help="keep the last N days")
        prune.add_argument("--database", action="append", dest="databases")

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the subcommand; a bad option or a failed replay is a one-line error."""
        try:
            getattr(self, f"_{options['action']}")(options)
        except CommonUtilsError as exc:
            raise CommandError(str(exc)) from exc

    def _select(self, alias: str, options: dict[str, Any], *, include_replayed: bool) -> Any:
        from common_utils.django.events._dead_letters import select_dead_letters

        return select_dead_letters(
            alias,
            ids=options["ids"],
            event_type=options["event_type"],
            reason=options.get("reason"),
            since=parse_time(options["since"], "--since"),
            until=parse_time(options["until"], "--until"),
            include_replayed=include_replayed,
        )

    def _list(self, options: dict[str, Any]) -> None:
        total = 0
        for alias in selected_aliases(options["databases"]):
            for letter in self._select(alias, options, include_replayed=options["all"]):
                total += 1
                replayed = (
                    f" replayed {letter.replayed_at.isoformat()}" if letter.replayed_at else ""
                )
                self.stdout.write(
                    f"{alias} #{letter.pk} {letter.dead_at.isoformat()} {letter.reason} "
                    f"{letter.event_type or '?'} {letter.event_id or '?'} "
                    f"attempts={letter.attempts}{replayed}: {one_line(letter.error)}"
                )
        self.stdout.write(f"{total} dead letter(s)")

    def _show(self, options: dict[str, Any]) -> None:
        from common_utils.django.models import DeadLetter

        found = [
            (alias, letter)
            for alias in selected_aliases(options["databases"])
            for letter in DeadLetter.objects.using(alias).filter(pk=options["id"])
        ]
        if not found:
            raise CommandError(f"no dead letter #{options['id']}")
        if len(found) > 1:
            raise CommandError(
                f"dead letter #{options['id']} is in {[a for a, _ in found]}: name one with "
                "--database"
            )
        alias, letter = found[0]
        for label, value in (
            ("database", alias),
            ("id", letter.pk),
            ("event id", letter.event_id or "?"),
            ("event type", letter.event_type or "?"),
            ("queue", letter.queue),
            ("handler", letter.handler or "-"),
            ("reason", letter.reason),
            ("attempts", letter.attempts),
            ("dead at", letter.dead_at.isoformat()),
            ("replayed at", letter.replayed_at.isoformat() if letter.replayed_at else "-"),
            ("error", letter.error),
        ):
            self.stdout.write(f"{label}: {value}")
        self.stdout.write("envelope:")
        self.stdout.write(pretty_json(letter.envelope))

    def _replay(self, options: dict[str, Any]) -> None:
        from common_utils.django.events._broker import configured_celery_app
        from common_utils.django.events._dead_letters import replay_dead_letters

        if not has_selector(options) and not options.get("reason"):
            raise CommandError(
                "say which dead letters to replay: --id, --type, --reason, --since or --until"
            )
        app = configured_celery_app(options["app"])
        total = 0
        for alias in selected_aliases(options["databases"]):
            letters = list(self._select(alias, options, include_replayed=False))
            for pk in replay_dead_letters(app, letters):
                self.stdout.write(f"{alias} #{pk} replayed")
                total += 1
        self.stdout.write(f"{total} dead letter(s) replayed")

    def _prune(self, options: dict[str, Any]) -> None:
        from common_utils.django.events._dead_letters import prune_consumer_records

        days = options["days"]
        if not days > 0:
            raise CommandError(f"--days must be more than 0, not {days}")
        for alias in selected_aliases(options["databases"]):
            counts = prune_consumer_records(alias, older_than_days=days)
            self.stdout.write(
                f"{alias}: {counts.processed} handled-event record(s), {counts.positions} key "
                f"position(s), {counts.dead_letters} replayed dead letter(s) deleted"
            )
