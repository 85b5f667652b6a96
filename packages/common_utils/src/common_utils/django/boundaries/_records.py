"""Reading query recordings back into ties between apps (the file is checked like any input)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from itertools import combinations
from pathlib import Path
from typing import Any

from common_utils._errors import BoundariesInputError
from common_utils.django.boundaries._files import read_untrusted
from common_utils.django.boundaries._recorder import (
    MAX_SITES,
    MAX_SQL_CHARS,
    RECORD_FORMAT,
    RECORD_VERSION,
)
from common_utils.django.boundaries._ties import Tie

MAX_RECORD_BYTES = 256 * 1024 * 1024


def read_recording(path: Path, owners: Mapping[str, str]) -> tuple[list[Tie], list[str]]:
    """The runtime ties in the recording at ``path``, and warnings (tables no model owns now).

    ``owners`` maps each table to its app label today: a recording names tables, so a model moved
    to another app since it was made is counted where it is now.
    """
    what = f"query recording {path}"
    text = read_untrusted(path, what="query recording", limit=MAX_RECORD_BYTES)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BoundariesInputError(f"{what}: not JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != RECORD_FORMAT:
        raise BoundariesInputError(f"{what}: not a recording of manage.py boundaries")
    if document.get("version") != RECORD_VERSION:
        raise BoundariesInputError(
            f"{what}: version {document.get('version')!r}, this common-utils reads "
            f"{RECORD_VERSION}: record again"
        )
    queries = document.get("queries")
    if not isinstance(queries, list):
        raise BoundariesInputError(f"{what}: 'queries' must be a list")
    ties: dict[str, Tie] = {}
    unknown: set[str] = set()
    for index, raw in enumerate(queries):
        entry = _checked_entry(raw, f"{what}: queries[{index}]")
        top = [t for t in entry["tables"] if t in owners]
        nested = [t for t in entry["subquery_tables"] if t in owners]
        unknown.update(t for t in [*entry["tables"], *entry["subquery_tables"]] if t not in owners)
        top_apps = {owners[t] for t in top}
        all_apps = top_apps | {owners[t] for t in nested}
        for first, second in combinations(sorted(all_apps), 2):
            if entry["kind"] == "transaction":
                kind = "transaction"
            else:
                kind = "join" if {first, second} <= top_apps else "subquery"
            tables = sorted(t for t in {*top, *nested} if owners[t] in {first, second})
            key = f"{kind}:{first}+{second}:{','.join(tables)}"
            previous = ties.get(key)
            if previous is None:
                ties[key] = Tie(
                    kind=kind,
                    source=first,
                    target=second,
                    key=key,
                    detail=_describe(kind, tables),
                    where=entry["sites"][0] if entry["sites"] else "",
                    sql=entry["sql"],
                    count=entry["count"],
                    sites=tuple(entry["sites"]),
                )
            else:
                sites = list(previous.sites)
                sites += [s for s in entry["sites"] if s not in sites]
                ties[key] = Tie(
                    kind=kind,
                    source=first,
                    target=second,
                    key=key,
                    detail=previous.detail,
                    where=previous.where,
                    sql=previous.sql,
                    count=previous.count + entry["count"],
                    sites=tuple(sites[:MAX_SITES]),
                )
    warnings = [f"{what}: table {t!r} belongs to no model now, ignored" for t in sorted(unknown)]
    return sorted(ties.values(), key=lambda tie: tie.key), warnings


def _describe(kind: str, tables: list[str]) -> str:
    listed = ", ".join(tables)
    if kind == "transaction":
        return f"one transaction writes {listed}"
    if kind == "join":
        return f"one query joins {listed}"
    return f"one query reads {listed} (through a subquery)"


def _checked_entry(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise BoundariesInputError(f"{where}: must be an object")
    kind = raw.get("kind")
    if kind not in {"query", "transaction"}:
        raise BoundariesInputError(f"{where}.kind: must be 'query' or 'transaction'")
    for name in ("tables", "subquery_tables", "sites"):
        value = raw.get(name)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise BoundariesInputError(f"{where}.{name}: must be a list of strings")
    sql, count = raw.get("sql"), raw.get("count")
    if not isinstance(sql, str) or len(sql) > MAX_SQL_CHARS:
        raise BoundariesInputError(f"{where}.sql: must be a string of at most {MAX_SQL_CHARS}")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise BoundariesInputError(f"{where}.count: must be a positive integer")
    return {
        "kind": kind,
        "tables": raw["tables"],
        "subquery_tables": raw["subquery_tables"],
        "sql": sql,
        "count": count,
        "sites": [site[:500] for site in raw["sites"][:MAX_SITES]],
    }
