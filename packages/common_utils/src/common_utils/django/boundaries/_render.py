"""The report as a terminal table and as JSON (the shape is documented in the README)."""

from __future__ import annotations

import re
import textwrap
from typing import Any

from common_utils.django.boundaries._baseline import Check
from common_utils.django.boundaries._report import Report
from common_utils.django.boundaries._ties import RUNTIME_KINDS, Tie

REPORT_FORMAT = "commons-boundaries-report"
REPORT_VERSION = 1
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean(text: str, width: int | None = None) -> str:
    """``text`` safe for a terminal (no control characters), cut to ``width`` with an ellipsis."""
    text = _UNPRINTABLE.sub(" ", text)
    if width is not None and len(text) > width:
        return text[: width - 1] + "…"
    return text


def report_document(report: Report, check: Check | None = None) -> dict[str, Any]:
    """The report as a JSON-ready dict."""
    service = report.plan.service_of
    group_of = {app: index for index, g in enumerate(report.cut.groups) for app in g.apps}
    services: dict[str, list[str]] = {}
    for app in report.apps:
        services.setdefault(service(app), []).append(app)
    document: dict[str, Any] = {
        "format": REPORT_FORMAT,
        "version": REPORT_VERSION,
        "services_map": report.plan.source,
        "services": dict(sorted(services.items())),
        "apps": [
            {"app": app, "service": service(app), "group": group_of[app]} for app in report.apps
        ],
        "ties": [_tie(tie, service(tie.source), service(tie.target)) for tie in report.crossing],
        "edges": [
            {
                "apps": [edge.first, edge.second],
                "weight": edge.weight,
                "kinds": edge.kinds,
                "crosses": service(edge.first) != service(edge.second),
            }
            for edge in report.edges
        ],
        "cut": {
            "method": report.cut.method,
            "modularity": report.cut.modularity,
            "groups": [
                {
                    "apps": list(group.apps),
                    "inside": group.inside,
                    "outside": group.outside,
                    "services": sorted({service(app) for app in group.apps}),
                }
                for group in report.cut.groups
            ],
        },
        "recordings": report.recordings,
        "files_read": report.files_read,
        "warnings": report.warnings,
        "seconds": round(report.seconds, 3),
    }
    if check is not None:
        document["check"] = {
            "baseline": check.baseline,
            "new": [tie.key for tie in check.new],
            "gone": list(check.gone),
        }
    return document


def _tie(tie: Tie, source_service: str, target_service: str) -> dict[str, Any]:
    return {
        "key": tie.key,
        "kind": tie.kind,
        "from": tie.source,
        "to": tie.target,
        "from_service": source_service,
        "to_service": target_service,
        "weight": tie.weight,
        "detail": tie.detail,
        "where": tie.where,
        "sql": tie.sql,
        "count": tie.count,
        "sites": list(tie.sites),
    }


def counted(number: int, noun: str) -> str:
    """``1 planned service``, ``2 planned services``: a count with its noun agreeing."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def render_table(report: Report, check: Check | None = None) -> str:
    """The report for a terminal: ties across services, then the proposed cut."""
    service = report.plan.service_of
    crossing = report.crossing
    recorded = sum(1 for tie in crossing if tie.kind in RUNTIME_KINDS)
    planned = f"from {report.plan.source}" if report.plan.source else "each app its own service"
    services = len({service(a) for a in report.apps})
    lines = [
        f"{counted(len(report.apps), 'app')}, {counted(services, 'planned service')} "
        f"({planned}); {counted(len(crossing), 'tie')} across services "
        f"({len(crossing) - recorded} static, {recorded} recorded at run time); "
        f"{counted(report.files_read, 'module')} read in {report.seconds:.2f} s",
        "",
    ]
    new = {tie.key for tie in check.new} if check else set()
    rows = [
        (
            "NEW " if tie.key in new else "",
            f"{service(tie.source)} -> {service(tie.target)}",
            tie.kind,
            f"{tie.detail}" + (f" (x{tie.count})" if tie.count > 1 else ""),
            tie.where,
        )
        for tie in sorted(
            crossing, key=lambda t: (service(t.source), service(t.target), t.kind, t.key)
        )
    ]
    if rows:
        header = ("", "SERVICES", "KIND", "TIE", "WHERE")
        widths = [
            min(max(len(clean(row[i])) for row in [header, *rows]), cap)
            for i, cap in enumerate((4, 40, 11, 80, 60))
        ]
        for row in [header, *rows]:
            cells = [
                clean(cell, width).ljust(width) for cell, width in zip(row, widths, strict=True)
            ]
            lines.append("  ".join(cells).rstrip())
    else:
        lines.append("No ties across the planned services.")
    cut = report.cut
    lines += ["", f"Proposed cut ({cut.method}, modularity {cut.modularity}): apps tied together"]
    alone = [g.apps[0] for g in cut.groups if len(g.apps) == 1 and g.inside == 0 and g.outside == 0]
    for number, group in enumerate((g for g in cut.groups if g.apps[0] not in alone), 1):
        planned_in = sorted({service(app) for app in group.apps})
        split = "one planned service" if len(planned_in) == 1 else f"{len(planned_in)} planned"
        lines.append(
            f"  {number}. ties inside {group.inside}, to other groups {group.outside}, {split}:"
        )
        lines += textwrap.wrap(
            clean(", ".join(group.apps)),
            width=96,
            initial_indent="     ",
            subsequent_indent="     ",
        )
    if alone:
        lines += textwrap.wrap(
            clean(", ".join(alone)),
            width=96,
            initial_indent="  stand alone (no ties): ",
            subsequent_indent="     ",
        )
    if check is not None:
        lines += [
            "",
            f"Against baseline {check.baseline}: {len(check.new)} new, "
            f"{len(check.gone)} gone"
            + (" (write the baseline again to ratchet)" if check.gone else ""),
        ]
    for warning in report.warnings:
        lines.append(f"warning: {clean(warning, 200)}")
    return "\n".join(lines) + "\n"
