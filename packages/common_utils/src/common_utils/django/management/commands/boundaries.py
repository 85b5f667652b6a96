"""``manage.py boundaries``: ties between apps of planned services, a proposed cut, a ratchet."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from common_utils._errors import BoundariesError, MissingExtraError
from common_utils.django.boundaries._baseline import check_against, write_baseline
from common_utils.django.boundaries._files import write_atomically
from common_utils.django.boundaries._recorder import DEFAULT_RECORD
from common_utils.django.boundaries._render import render_table, report_document
from common_utils.django.boundaries._report import build_report
from common_utils.django.boundaries._svg import render_svg


class Command(BaseCommand):
    """Report every tie between apps of different planned services; see the README."""

    help = (
        "Report the ties between apps of different planned services (model relations, imports, "
        "signals, and queries recorded while the test suite ran), propose a cut, draw it, and "
        "ratchet it in CI with --baseline and --check."
    )
    # The report reads the project as it is: a project whose checks fail still gets one.
    requires_system_checks: list[str] = []  # noqa: RUF012 - Django's own attribute type

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare the options."""
        parser.add_argument(
            "--services",
            metavar="FILE",
            type=Path,
            help='TOML map of planned services: [services] then shop = ["catalog", "orders"]; '
            "without it each app is its own service",
        )
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        parser.add_argument("--svg", metavar="FILE", type=Path, help="draw the report into FILE")
        parser.add_argument(
            "--baseline",
            metavar="FILE",
            type=Path,
            help="write today's ties across services into FILE (with --check: compare with it)",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="fail, naming each one, on a tie across services that the baseline lacks",
        )
        parser.add_argument(
            "--recording",
            metavar="FILE",
            type=Path,
            action="append",
            help="a query recording to read (repeatable; default: every "
            f"{DEFAULT_RECORD.stem}*.json in the current folder)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Build the report, print or write it, and check it against the baseline."""
        if options["check"] and options["baseline"] is None:
            raise CommandError("--check needs --baseline FILE (the ties it compares against)")
        recordings = options["recording"]
        if recordings is None:
            recordings = sorted(Path.cwd().glob(f"{DEFAULT_RECORD.stem}*.json"))
        try:
            report = build_report(services=options["services"], recordings=recordings)
            check = check_against(options["baseline"], report) if options["check"] else None
            if options["svg"] is not None:
                write_atomically(options["svg"], render_svg(report), what="picture")
            if options["json"]:
                self.stdout.write(json.dumps(report_document(report, check), indent=1))
            else:
                self.stdout.write(render_table(report, check), ending="")
            if options["baseline"] is not None and not options["check"]:
                count = write_baseline(options["baseline"], report)
                self.stderr.write(f"baseline {options['baseline']}: {count} ties recorded")
        except (BoundariesError, MissingExtraError) as exc:
            raise CommandError(str(exc)) from None
        if check is not None and check.new:
            listed = "\n".join(
                f"  {tie.kind}: {tie.source} -> {tie.target}: {tie.detail}"
                + (f" ({tie.where})" if tie.where else "")
                for tie in check.new
            )
            raise CommandError(
                f"{len(check.new)} new tie(s) across services, not in baseline "
                f"{check.baseline}:\n{listed}"
            )
