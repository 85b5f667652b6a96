"""What ``manage.py events`` and ``manage.py outbox`` share: selecting rows, times, output."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import connections
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from common_utils.django.events._outbox import outbox_aliases


def add_selection_arguments(parser: CommandParser, *, when: str) -> None:
    """``--database``, ``--id``, ``--type``, ``--since``, ``--until`` (``when`` says of what)."""
    parser.add_argument(
        "--database",
        action="append",
        dest="databases",
        help="database alias to look in (repeatable; default: every primary database)",
    )
    parser.add_argument(
        "--id", action="append", type=int, dest="ids", default=[], help="row id (repeatable)"
    )
    parser.add_argument("--type", dest="event_type", help="event type, e.g. orders.placed.v1")
    parser.add_argument(
        "--since", help=f"ISO 8601 time: {when} at or after it (naive means TIME_ZONE)"
    )
    parser.add_argument("--until", help=f"ISO 8601 time: {when} before it")


def parse_time(value: str | None, option: str) -> datetime | None:
    """Read an ISO 8601 time given as ``option``; raise ``CommandError`` naming it if invalid."""
    if value is None:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise CommandError(f"{option} {value!r} is not an ISO 8601 time (2026-01-31T12:00:00Z)")
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def selected_aliases(databases: Sequence[str] | None) -> list[str]:
    """The aliases named (each checked against ``DATABASES``), or every primary database."""
    if not databases:
        return outbox_aliases()
    unknown = sorted(set(databases) - set(connections))
    if unknown:
        raise CommandError(
            f"--database {', '.join(unknown)}: not in DATABASES (known: {sorted(connections)})"
        )
    return list(dict.fromkeys(databases))


def has_selector(options: dict[str, Any]) -> bool:
    """Whether a replay was told which rows: it never replays everything by default."""
    return bool(options["ids"] or options["event_type"] or options["since"] or options["until"])


def pretty_json(text: str) -> str:
    """``text`` indented when it is JSON, as it is otherwise."""
    try:
        return json.dumps(json.loads(text), indent=2, sort_keys=True)
    except ValueError:
        return text


def one_line(text: str, width: int = 100) -> str:
    """The first line of ``text``, cut to ``width`` characters."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= width else first[: width - 1] + "…"
