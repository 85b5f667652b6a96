"""The report: which apps are in it, their ties (static and recorded), the plan and the cut."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from common_utils.django.boundaries._code import ModuleOwners, is_library_file
from common_utils.django.boundaries._cut import Cut, propose_cut, require_networkx
from common_utils.django.boundaries._imports import AppSource, scan_imports
from common_utils.django.boundaries._plan import Plan, load_plan
from common_utils.django.boundaries._recorder import table_owners
from common_utils.django.boundaries._records import read_recording
from common_utils.django.boundaries._static import app_configs, relation_ties, signal_ties
from common_utils.django.boundaries._ties import Tie

# Framework plumbing every service keeps its own copy of: a generic foreign key's tie to
# ContentType does not make contenttypes part of the report (name it in the map to see it).
PLUMBING_APPS = frozenset({"contenttypes"})


@dataclass(frozen=True)
class Edge:
    """Two apps and the ties between them, summed."""

    first: str
    second: str
    weight: int
    kinds: dict[str, int]


@dataclass
class Report:
    """Everything ``manage.py boundaries`` prints."""

    apps: list[str]
    plan: Plan
    ties: list[Tie]
    edges: list[Edge]
    cut: Cut
    recordings: list[str] = field(default_factory=list)
    files_read: int = 0
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def crossing(self) -> list[Tie]:
        """The ties between apps of different planned services: what the split has to undo."""
        service = self.plan.service_of
        return [tie for tie in self.ties if service(tie.source) != service(tie.target)]


def build_report(*, services: Path | None, recordings: list[Path]) -> Report:
    """Collect every tie of the loaded project and propose a cut (see the module)."""
    require_networkx()
    started = time.perf_counter()
    configs = app_configs()
    labels = {config.label for config in configs}
    plan = load_plan(services, labels)
    owners = ModuleOwners((config.label, config.name) for config in configs)
    project = {
        config.label
        for config in configs
        if not is_library_file(str(Path(config.path) / "__init__.py"))
    }
    relations = relation_ties()
    related = {
        tie.target for tie in relations if tie.source in project and tie.target not in project
    }
    apps = project | plan.planned_apps() | (related - PLUMBING_APPS)
    sources = [
        AppSource(config.label, config.name, Path(config.path))
        for config in configs
        if config.label in project | plan.planned_apps()
    ]
    scan = scan_imports(sources, owners)
    ties = [*relations, *scan.ties, *signal_ties(owners, scan.signals)]
    warnings = list(scan.warnings)
    tables = table_owners()
    for path in recordings:
        recorded, unknown = read_recording(path, tables)
        ties.extend(recorded)
        warnings.extend(unknown)
    kept = sorted(
        (t for t in ties if t.source in apps and t.target in apps and t.source != t.target),
        key=lambda t: (t.kind, t.source, t.target, t.key),
    )
    edges = _edges(kept)
    cut = propose_cut(apps, {(e.first, e.second): e.weight for e in edges})
    return Report(
        apps=sorted(apps),
        plan=plan,
        ties=kept,
        edges=edges,
        cut=cut,
        recordings=[str(path) for path in recordings],
        files_read=scan.files,
        warnings=warnings,
        seconds=time.perf_counter() - started,
    )


def _edges(ties: list[Tie]) -> list[Edge]:
    weights: Counter[tuple[str, str]] = Counter()
    kinds: dict[tuple[str, str], Counter[str]] = {}
    for tie in ties:
        pair = (min(tie.source, tie.target), max(tie.source, tie.target))
        weights[pair] += tie.weight
        kinds.setdefault(pair, Counter())[tie.kind] += 1
    return [
        Edge(pair[0], pair[1], weights[pair], dict(sorted(kinds[pair].items())))
        for pair in sorted(weights)
    ]
