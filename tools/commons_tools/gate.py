"""The changelog gate: a package whose source changed must carry a news fragment.

Without ``--base`` a package's source is compared with its last release as ``releases.toml``
records it (the tree of the package's folder as released; before the first release, everything
counts as changed) and it must have at least one pending fragment; tags are never read. With
``--base REF`` the source is compared with the merge base of REF and HEAD, and a fragment must
have been added since then. Every pending fragment must be well formed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from commons_tools import git as g
from commons_tools.errors import CommonsToolsError, FragmentError, GitError, describe_os_error
from commons_tools.fragments import Fragment, pending_fragments
from commons_tools.state import load_state
from commons_tools.workspace import Package, Workspace, load_workspace


@dataclass
class GateReport:
    """What the gate found: one problem a line, for people to read."""

    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _folder(repo: Path, package: Package) -> str:
    return package.root.relative_to(repo).as_posix()


def _tree_at(repo: Path, commit: str, folder: str) -> str | None:
    """The tree id of ``folder`` at ``commit``, or None when the folder did not exist there."""
    try:
        return g.git(repo, "rev-parse", "--verify", "--quiet", f"{commit}:{folder}")
    except GitError:
        return None


def _changed(repo: Path, package: Package, old: str | None, new: str, sub: str) -> list[str]:
    """Files under the package's ``sub`` folder that differ between its trees ``old`` (None:
    nothing released, everything counts) and ``new``, as repository paths."""
    folder = _folder(repo, package)
    if old is None:
        paths = g.lines(g.git(repo, "ls-tree", "-r", "--name-only", new, "--", sub))
    else:
        paths = g.tree_changes(repo, old, new, sub)
    return [f"{folder}/{path}" for path in paths]


def check(workspace: Workspace, base: str | None = None) -> GateReport:
    """Run the gate over every package of ``workspace``."""
    repo = workspace.repo
    report = GateReport()
    since_base = None
    if base is not None:
        since_base = g.git(repo, "merge-base", g.resolve(repo, base), "HEAD")
    state = load_state(repo)
    current = g.work_tree_ids(repo, [_folder(repo, p) for p in workspace.packages])
    report.problems.extend(_stray_fragments(workspace))
    for package in workspace.packages:
        fragments, errors = pending_fragments(package)
        report.problems.extend(_describe(package, error) for error in errors)
        if since_base is None:
            record = state.last(package.dist_name)
            old = record.tree if record is not None else None
            old_commit = record.source if record is not None else None
            wanted = "a pending news fragment"
        else:
            old = _tree_at(repo, since_base, _folder(repo, package))
            old_commit = since_base
            added = set(g.added_files(repo, since_base, package.changelog_dir))
            fragments = [f for f in fragments if f.path.relative_to(repo).as_posix() in added]
            wanted = f"a news fragment added since {base}"
        new = current[_folder(repo, package)]
        report.problems.extend(_breaking_spec_changes(repo, package, old_commit, fragments))
        changed = _changed(repo, package, old, new, "src")
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
    repo: Path, package: Package, old_commit: str | None, fragments: list[Fragment]
) -> list[str]:
    """A breaking change to the OpenAPI document a client package is generated from (its
    ``[tool.commons] spec``) needs a ``breaking`` fragment in that package.

    The document at ``old_commit`` (the commit the package's last release was made from, or the
    base) is compared with the work tree's by ``common_clients.codegen.diff_specs``.
    """
    if package.spec is None or old_commit is None or any(f.type == "breaking" for f in fragments):
        return []
    path = package.spec.relative_to(repo.resolve()).as_posix()
    old_text = g.show(repo, old_commit, path)
    new_file = repo / path
    new_text = new_file.read_text(encoding="utf-8") if new_file.is_file() else None
    if old_text is None or old_text == new_text:
        return []  # a new document breaks nobody
    where = f"{package.changelog_dir.relative_to(repo)}/"
    if new_text is None:
        return [
            f"{package.dist_name}: {path} was removed, a breaking change, without a breaking "
            f"news fragment in {where}"
        ]
    try:
        from common_clients.codegen import SpecError, diff_specs, parse_spec
    except ImportError:
        return [
            f"{package.dist_name}: its OpenAPI document {path} changed but "
            "common-clients[codegen] is not installed to compare it"
        ]
    try:
        before = parse_spec(old_text, source=f"{path} at {old_commit[:12]}")
        after = parse_spec(new_text, source=path)
    except SpecError as exc:
        return [f"{package.dist_name}: {exc}"]
    breaking = [change for change in diff_specs(before, after) if change.breaking]
    listed = "; ".join(str(change) for change in breaking[:5])
    more = f" and {len(breaking) - 5} more" if len(breaking) > 5 else ""
    return [
        f"{package.dist_name}: {path} changed in a way that breaks clients ({listed}{more}) "
        f"without a breaking news fragment in {where} (`nox -s specs -- --write` writes it)"
    ][: 1 if breaking else 0]


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
    except CommonsToolsError as exc:
        print(f"changelog: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"changelog: {describe_os_error(exc)}", file=sys.stderr)
        return 2
    for line in report.checked:
        print(f"  ok  {line}")
    for line in report.problems:
        print(f"FAIL  {line}", file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
