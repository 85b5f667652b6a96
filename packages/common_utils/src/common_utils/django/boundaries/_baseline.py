"""The ratchet: a baseline file holds today's ties across services; a check fails on new ones."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common_utils._errors import BoundariesInputError
from common_utils.django.boundaries._files import read_untrusted, write_atomically
from common_utils.django.boundaries._report import Report
from common_utils.django.boundaries._ties import Tie

BASELINE_FORMAT = "commons-boundaries-baseline"
BASELINE_VERSION = 1
MAX_BASELINE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Check:
    """A report compared with a baseline: ties it does not hold, and ties that are gone."""

    baseline: str
    new: tuple[Tie, ...]
    gone: tuple[str, ...]


def write_baseline(path: Path, report: Report) -> int:
    """Record the report's ties across services in ``path``; return how many."""
    crossing = report.crossing
    document: dict[str, Any] = {
        "format": BASELINE_FORMAT,
        "version": BASELINE_VERSION,
        "services": {name: list(apps) for name, apps in sorted(report.plan.services.items())},
        "ties": [
            {"key": tie.key, "kind": tie.kind, "from": tie.source, "to": tie.target}
            for tie in sorted(crossing, key=lambda t: t.key)
        ],
    }
    write_atomically(path, json.dumps(document, indent=1) + "\n", what="baseline")
    return len(crossing)


def check_against(path: Path, report: Report) -> Check:
    """Compare the report's ties across services with the baseline at ``path``."""
    what = f"baseline {path}"
    text = read_untrusted(path, what="baseline", limit=MAX_BASELINE_BYTES)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BoundariesInputError(f"{what}: not JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != BASELINE_FORMAT:
        raise BoundariesInputError(
            f"{what}: not a baseline of manage.py boundaries (write one with --baseline alone)"
        )
    if document.get("version") != BASELINE_VERSION:
        raise BoundariesInputError(f"{what}: version {document.get('version')!r} is not 1")
    entries = document.get("ties")
    if not isinstance(entries, list):
        raise BoundariesInputError(f"{what}: 'ties' must be a list")
    known: set[str] = set()
    for index, entry in enumerate(entries):
        key = entry.get("key") if isinstance(entry, dict) else None
        if not isinstance(key, str):
            raise BoundariesInputError(f"{what}: ties[{index}].key must be a string")
        known.add(key)
    crossing = report.crossing
    current = {tie.key for tie in crossing}
    new = tuple(tie for tie in crossing if tie.key not in known)
    return Check(str(path), new, tuple(sorted(known - current)))
