"""The changelog gate: a package whose source changed must carry a news fragment.

Without ``--base`` a package's source is compared with its last release tag
(``<dist-name>-v<version>``; before the first release, everything counts as changed) and it must
have at least one pending fragment. With ``--base REF`` the source is compared with the merge base
of REF and HEAD, and a fragment must have been added since then. Every pending fragment must be
well formed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from commons_tools import git as g
from commons_tools.fragments import Fragment, FragmentError, pending_fragments
from commons_tools.workspace import Package, Workspace, WorkspaceError, load_workspace


@dataclass
class GateReport:
    """What the gate found: one problem a line, for people to read."""

    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def last_release_commit(repo: Path, package: Package) -> str | None:
    """The commit of the package's current version's tag, or of its newest tag, or None."""
    if g.tag_exists(repo, package.tag()):
        return g.resolve(repo, package.tag())
    tags = g.lines(g.git(repo, "tag", "--list", f"{package.tag_prefix}*", "--sort=-v:refname"))
    return g.resolve(repo, tags[0]) if tags else None


def check(workspace: Workspace, base: str | None = None) -> GateReport:
    """Run the gate over every package of ``workspace``."""
    repo = workspace.repo
    report = GateReport()
    since_base = None
    if base is not None:
        since_base = g.git(repo, "merge-base", g.resolve(repo, base), "HEAD")
    report.problems.extend(_stray_fragments(workspace))
    for package in workspace.packages:
        fragments, errors = pending_fragments(package)
        report.problems.extend(_describe(package, error) for error in errors)
        since = since_base if base is not None else last_release_commit(repo, package)
        if base is None:
            wanted = "a pending news fragment"
        else:
            assert since is not None
            added = set(g.added_files(repo, since, package.changelog_dir))
            fragments = [f for f in fragments if f.path.relative_to(repo).as_posix() in added]
            wanted = f"a news fragment added since {base}"
        report.problems.extend(_breaking_spec_changes(repo, package, since, fragments))
        changed = g.changed_files(repo, since, package.src)
        if not changed:
            report.checked.append(f"{package.dist_name}: source unchanged")
        elif fragments:
            report.checked.append(
                f"{package.dist_name}: {len(changed)} changed file(s), has a fragment"
            )
        else:
            more = f" and {len(changed) - 10} more" if len(changed) > 10 else ""
            shown = ", ".join(changed[:10]) + more
            report.problems.append(
                f"{package.dist_name}: source changed without {wanted} in "
                f"{package.changelog_dir.relative_to(repo)}/ (changed: {shown}); add one, e.g. "
                f"{package.changelog_dir.relative_to(repo)}/+short-slug.fix.md"
            )
    return report


def _breaking_spec_changes(
    repo: Path, package: Package, since: str | None, fragments: list[Fragment]
) -> list[str]:
    """A breaking change to one of the package's OpenAPI documents needs a ``breaking`` fragment.

    The documents are ``packages/<pkg>/specs/*.yaml|json``; each one changed since ``since`` is
    compared with its old version by ``common_clients.codegen.diff_specs``.
    """
    specs_dir = package.root / "specs"
    if since is None or not specs_dir.is_dir():
        return []
    changed = [
        path
        for path in g.changed_files(repo, since, specs_dir)
        if path.endswith((".yaml", ".yml", ".json"))
    ]
    if not changed or any(f.type == "breaking" for f in fragments):
        return []
    try:
        from common_clients.codegen import SpecError, diff_specs, parse_spec
    except ImportError:
        return [
            f"{package.dist_name}: OpenAPI documents changed ({', '.join(changed)}) but "
            "common-clients[codegen] is not installed to compare them"
        ]
    problems = []
    for path in changed:
        old_text = g.show(repo, since, path)
        if old_text is None:
            continue  # a new document breaks nobody
        new_file = repo / path
        try:
            old = parse_spec(old_text, source=f"{path} at {since[:12]}")
            if not new_file.is_file():
                problems.append(
                    f"{package.dist_name}: {path} was removed, a breaking change, without a "
                    f"breaking news fragment in {package.changelog_dir.relative_to(repo)}/"
                )
                continue
            new = parse_spec(new_file.read_bytes(), source=path)
        except SpecError as exc:
            problems.append(f"{package.dist_name}: {exc}")
            continue
        breaking = [change for change in diff_specs(old, new) if change.breaking]
        if breaking:
            listed = "; ".join(str(change) for change in breaking[:5])
            more = f" and {len(breaking) - 5} more" if len(breaking) > 5 else ""
            problems.append(
                f"{package.dist_name}: {path} changed in a way that breaks clients "
                f"({listed}{more}) without a breaking news fragment in "
                f"{package.changelog_dir.relative_to(repo)}/"
            )
    return problems


def _stray_fragments(workspace: Workspace) -> list[str]:
    """Fragment folders outside ``packages/<pkg>/changelog.d/``: no package would release them."""
    repo = workspace.repo
    homes = {p.changelog_dir.relative_to(repo).as_posix() for p in workspace.packages}
    listed = g.lines(g.git(repo, "ls-files", "--cached", "--others", "--exclude-standard"))
    stray = sorted(
        path for path in listed if "changelog.d/" in path and path.rsplit("/", 1)[0] not in homes
    )
    return [
        f"{path}: a fragment outside any package's changelog.d/ (the homes are: "
        f"{', '.join(sorted(homes))})"
        for path in stray
    ]


def _describe(package: Package, error: FragmentError) -> str:
    return f"{package.dist_name}: malformed fragment {error}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nox -s changelog --", description=__doc__)
    parser.add_argument("--base", help="compare with this ref (e.g. origin/main) instead of tags")
    parser.add_argument("--repo", type=Path, default=Path.cwd(), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        report = check(load_workspace(args.repo.resolve()), base=args.base)
    except (WorkspaceError, g.GitError) as exc:
        print(f"changelog: {exc}", file=sys.stderr)
        return 2
    for line in report.checked:
        print(f"  ok  {line}")
    for line in report.problems:
        print(f"FAIL  {line}", file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
