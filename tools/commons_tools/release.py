"""The release run (``nox -s release``): plan, write, build and verify, commit and tag, publish.

1. Plan from the pending fragments, with the cascade (:mod:`commons_tools.plan`), and print it;
   ``--dry-run`` stops here and changes nothing. What was released before comes from
   ``releases.toml`` (:mod:`commons_tools.state`), never from tags.
2. Refuse a dirty work tree or a version released before; check that the index answers, takes our
   credentials and has no file of a planned version, before anything is written.
3. Write: ``__about__.py``, the rewritten ranges and an auto-written fragment in each cascaded
   dependent, towncrier per package, one entry in the root CHANGELOG.md, and one entry per release
   in ``releases.toml`` (the source commit, the tree id of the package's folder as it will be
   committed, the epoch).
4. Build each released package from exactly that tree (SOURCE_DATE_EPOCH is the time the release
   commit will carry), ``twine check``, install the wheels into a fresh venv without any index and
   compare each ``__version__``.
5. Commit ``Release common-auth 1.3.0, common-utils 0.2.0`` and tag ``<dist-name>-v<version>``.
   Until this commit every write is recorded and undone if a step fails.
6. Publish (:mod:`commons_tools.publish`) every recorded release the index lacks, rebuilt from its
   recorded tree (the same bytes), not only this run's: a re-run finishes a half-failed publish,
   and a run after a ``--no-publish`` one publishes both.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from commons_tools import git as g
from commons_tools.errors import (
    CommonsToolsError,
    ReleaseError,
    StateError,
    VerifyError,
    WorkspaceError,
    WorkTreeError,
    describe_os_error,
)
from commons_tools.plan import Plan, PlannedRelease, make_plan, requirement_text
from commons_tools.processes import run, tail
from commons_tools.state import STATE_FILE, ReleaseRecord, ReleaseState, load_state
from commons_tools.workspace import (
    Package,
    Workspace,
    load_workspace,
    write_version,
)

# The build, the index and tomlkit are imported where they are used: a --dry-run needs none of
# them, and their imports would be most of its time.
if TYPE_CHECKING:
    from commons_tools.build import BuildSource
    from commons_tools.simple_api import IndexTarget

ROOT_LOG_MARKER = "<!-- release log start -->"
Say = Callable[[str], None]


class WorkTreeChanges:
    """Every file a release writes before its commit, as it was, so that it can be put back."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self._saved: dict[Path, bytes | None] = {}

    def record(self, path: Path) -> Path:
        """Remember ``path`` as it is now (or that it does not exist) before the first change."""
        if path not in self._saved:
            self._saved[path] = path.read_bytes() if path.exists() else None
        return path

    @property
    def paths(self) -> list[Path]:
        return sorted(self._saved)

    def restore(self) -> None:
        """Put every recorded file back and unstage it: the work tree is as before the run."""
        for path, content in self._saved.items():
            if content is None:
                path.unlink(missing_ok=True)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
        tracked = [self._rel(p) for p in self.paths if self._saved[p] is not None]
        if tracked:
            g.git(self.repo, "reset", "--quiet", "--", *tracked)

    def _rel(self, path: Path) -> str:
        return path.relative_to(self.repo).as_posix()

    def commit(self, message: str, epoch: int) -> str:
        """Stage exactly the recorded files and commit them at time ``epoch``; the new commit."""
        present = [self._rel(p) for p in self.paths if p.exists()]
        gone = [self._rel(p) for p in self.paths if not p.exists()]
        if present:
            g.git(self.repo, "add", "--", *present)
        if gone:
            g.git(self.repo, "rm", "--cached", "--quiet", "--ignore-unmatch", "--", *gone)
        env = {"GIT_AUTHOR_DATE": f"@{epoch} +0000", "GIT_COMMITTER_DATE": f"@{epoch} +0000"}
        # No hooks: the commit must hold exactly the files that were just built and verified.
        g.git(self.repo, "commit", "--quiet", "--no-verify", "-m", message, env=env)
        return g.resolve(self.repo, "HEAD")


def require_clean(repo: Path) -> None:
    """Refuse a work tree with changes or untracked files, naming a few of them."""
    changed = g.lines(g.git(repo, "diff", "--name-only", "HEAD"))
    untracked = g.lines(g.git(repo, "ls-files", "--others", "--exclude-standard"))
    status = sorted(set(changed) | set(untracked))
    if status:
        shown = ", ".join(status[:5])
        more = f" and {len(status) - 5} more" if len(status) > 5 else ""
        raise WorkTreeError(
            f"the work tree is not clean ({shown}{more}): commit or remove these first, "
            "a release commits only its own changes"
        )


def require_unreleased(repo: Path, state: ReleaseState, plan: Plan) -> None:
    """Refuse a planned version that ``releases.toml`` records already, or whose tag exists (the
    tag could not be made: a release of another line or clone took that version)."""
    for release in plan.releases:
        name = release.package.dist_name
        if state.find(name, release.next) is not None:
            raise WorkTreeError(
                f"{name} {release.next} is recorded in {STATE_FILE} already: "
                f"{release.package.about.relative_to(repo)} is behind the recorded releases"
            )
        if g.tag_exists(repo, release.tag):
            raise WorkTreeError(
                f"tag {release.tag} already exists but {STATE_FILE} does not record "
                f"{name} {release.next}: another line or clone released it; release a later "
                "version, or delete the stray tag"
            )


def require_consistent(repo: Path, workspace: Workspace, state: ReleaseState) -> None:
    """Each released package's ``__about__.py`` holds its newest recorded version."""
    for package in workspace.packages:
        last = state.last(package.dist_name)
        if last is not None and last.version != package.version:
            raise StateError(
                f"{package.about.relative_to(repo)} holds {package.version} but {STATE_FILE} "
                f"records {package.dist_name} {last.version} as its newest release: versions "
                "move only by a release"
            )


# -- writing ---------------------------------------------------------------------------------


def rewrite_ranges(release: PlannedRelease, changes: WorkTreeChanges) -> None:
    """Rewrite the cascaded requirements in the dependent's pyproject, keeping its comments."""
    import tomlkit

    if not release.range_changes:
        return
    pyproject = changes.record(release.package.pyproject)
    document = tomlkit.parse(pyproject.read_text(encoding="utf-8"))
    project = document["project"]
    assert isinstance(project, dict)
    dependencies = project["dependencies"]
    assert isinstance(dependencies, list)
    for change in release.range_changes:
        wanted = canonicalize_name(change.dependency)
        for position, entry in enumerate(dependencies):
            if canonicalize_name(Requirement(str(entry)).name) == wanted:
                dependencies[position] = change.new_text
                break
        else:
            raise WorkspaceError(f"{pyproject}: no requirement on {change.dependency} to rewrite")
    pyproject.write_text(tomlkit.dumps(document), encoding="utf-8")


def write_cascade_fragment(release: PlannedRelease, changes: WorkTreeChanges) -> None:
    """The auto-written fragment of a cascaded dependent: which dependency moved, new range."""
    if not release.range_changes:
        return
    for change in release.range_changes:
        moved = next(str(s.version) for s in change.new.specifier if s.operator == ">=")
        slug = re.sub(r"[^a-z0-9]+", "-", f"{change.dependency}-{moved}".lower()).strip("-")
        path = changes.record(release.package.changelog_dir / f"+requires-{slug}.fix.md")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f"Required `{change.new_text}` (was `{change.old_text}`): "
            f"{change.dependency} {moved} was released outside the old range.\n",
            encoding="utf-8",
        )


_TOWNCRIER_SCRIPT = """
import json, os, sys
from towncrier.build import _main
here = os.getcwd()
for name, args in json.loads(sys.argv[1]):
    try:
        _main.main(args=args, prog_name="towncrier build", standalone_mode=False)
    except SystemExit as exc:
        if exc.code not in (0, None):
            print(json.dumps({"failed": name, "error": f"exit status {exc.code}"}))
            sys.exit(1)
    except Exception as exc:
        said = " ".join(str(exc).split()) or type(exc).__name__
        print(json.dumps({"failed": name, "error": said}))
        sys.exit(1)
    finally:
        os.chdir(here)
"""


def run_towncrier(
    repo: Path, releases: Sequence[PlannedRelease], day: str, changes: WorkTreeChanges
) -> None:
    """Consume each package's fragments into its CHANGELOG.md: towncrier, once per package, all
    in one process (one interpreter start instead of one per package)."""
    jobs = []
    for release in releases:
        package = release.package
        changes.record(package.changelog)
        for path in package.changelog_dir.iterdir():
            changes.record(path)
        rel = package.root.relative_to(repo).as_posix()
        args = ["--yes", "--config", f"{rel}/pyproject.toml", "--dir", rel]
        args += ["--version", str(release.next), "--date", day]
        jobs.append((package.dist_name, args))
    if not jobs:
        return
    result = run([sys.executable, "-c", _TOWNCRIER_SCRIPT, json.dumps(jobs)], cwd=repo)
    if result.returncode != 0:
        for line in reversed(result.stdout.strip().splitlines()):
            try:
                said = json.loads(line)
            except ValueError:
                continue
            if isinstance(said, dict) and "failed" in said:
                raise ReleaseError(
                    f"towncrier did not build the changelog of {said['failed']}: {said['error']}"
                )
        raise ReleaseError(f"towncrier did not build the changelogs: {tail(result, 3)}")


def write_root_changelog(repo: Path, plan: Plan, day: str, changes: WorkTreeChanges) -> None:
    """Add one entry (date, each package==version) to the root CHANGELOG.md."""
    path = changes.record(repo / "CHANGELOG.md")
    text = path.read_text(encoding="utf-8") if path.exists() else "# Release log\n"
    lines = "".join(f"- {r.package.dist_name}=={r.next}\n" for r in plan.releases)
    entry = f"\n## {day}\n\n{lines}"
    if ROOT_LOG_MARKER in text:
        head, tail = text.split(ROOT_LOG_MARKER, 1)
        tail = tail.lstrip("\n")
        text = f"{head}{ROOT_LOG_MARKER}\n{entry}" + (f"\n{tail}" if tail else "")
    else:
        text = f"{text.rstrip()}\n\n{ROOT_LOG_MARKER}\n{entry}"
    path.write_text(text, encoding="utf-8")


def write_release(repo: Path, plan: Plan, epoch: int, changes: WorkTreeChanges) -> None:
    """Step 3: versions, ranges, fragments, changelogs."""
    day = datetime.fromtimestamp(epoch, UTC).date().isoformat()
    for release in plan.releases:
        write_version(changes.record(release.package.about), release.next)
        rewrite_ranges(release, changes)
        write_cascade_fragment(release, changes)
    run_towncrier(repo, plan.releases, day, changes)
    write_root_changelog(repo, plan, day, changes)


# -- verifying ----------------------------------------------------------------------------------


def unreleased_dependencies(workspace: Workspace, released: Sequence[Package]) -> list[Package]:
    """The workspace packages that ``released`` need, directly or not, and that are not among
    them, in dependency order."""
    names = {p.dist_name for p in released}
    needed: set[str] = set()
    pending = list(released)
    while pending:
        for _, target in workspace.internal_requirements(pending.pop()):
            if target.dist_name not in names and target.dist_name not in needed:
                needed.add(target.dist_name)
                pending.append(target)
    return [p for p in workspace.packages if p.dist_name in needed]


def verify_internal_requirements(wheels: Sequence[Path], versions: dict[str, Version]) -> None:
    """Every requirement a built wheel declares on a workspace package admits that package's
    version after this release (``versions``: canonical dist name -> version): the cascade, checked
    on the artifacts themselves."""
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            metadata_name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
            metadata = archive.read(metadata_name).decode("utf-8")
        for line in metadata.splitlines():
            if not line.startswith("Requires-Dist:"):
                continue
            requirement = Requirement(line.removeprefix("Requires-Dist:").strip())
            version = versions.get(canonicalize_name(requirement.name))
            if version is None or requirement.marker is not None:
                continue
            if not requirement.specifier.contains(version, prereleases=True):
                raise VerifyError(
                    f"{wheel.name} requires {requirement_text(requirement)} but "
                    f"{requirement.name} will be at "
                    f"{version}"
                )


# -- the run ---------------------------------------------------------------------------------


def build_and_verify(
    repo: Path, fresh: Workspace, sources: Sequence[BuildSource], outdir: Path, epoch: int
) -> list[Path]:
    """Step 4: build the released packages from their trees, twine check them, install and
    import the wheels in a fresh venv, and check their requirements on each other."""
    from commons_tools.build import build_sources, twine_check, verify_wheels, work_tree_sources

    built = build_sources(repo, sources, outdir)
    twine_check(built)
    wheels = [p for p in built if p.suffix == ".whl"]
    packages = [fresh.get(source.dist_name) for source in sources]
    with tempfile.TemporaryDirectory(prefix="commons-deps-") as scratch:
        # Workspace packages the released ones need but that stay at their version: built too
        # (not published), so the venv holds the workspace as released.
        others = unreleased_dependencies(fresh, packages)
        extra = build_sources(repo, work_tree_sources(repo, others, epoch), Path(scratch))
        expected = {p.dist_name: (p.module, str(p.version)) for p in packages}
        verify_wheels(wheels + [p for p in extra if p.suffix == ".whl"], expected)
    verify_internal_requirements(
        wheels, {canonicalize_name(p.dist_name): p.version for p in fresh.packages}
    )
    return built


@contextmanager
def _index_if(publish: bool, repo: Path, say: Say) -> Iterator[IndexTarget | None]:
    from commons_tools.publish import check_credentials, release_index
    from commons_tools.simple_api import check_reachable

    if not publish:
        yield None
        return
    with release_index(repo, say=say) as target:
        check_reachable(target)
        check_credentials(target)
        yield target


def release(
    repo: Path,
    *,
    dry_run: bool = False,
    pre: str | None = None,
    only: Sequence[str] = (),
    publish: bool = True,
    outdir: Path | None = None,
    say: Say = print,
) -> Plan:
    """Run a release over the repository at ``repo`` (the module docstring has the steps).

    Raises a :class:`CommonsToolsError` with a one-line reason; when that happens before the
    commit, the work tree is as it was.
    """
    workspace = load_workspace(repo)
    state = load_state(repo)
    require_consistent(repo, workspace, state)
    plan = make_plan(workspace, pre=pre, only=only, state=state)
    say(plan.table())
    if dry_run:
        say("--dry-run: nothing was written, committed, tagged or published.")
        return plan
    outdir = outdir or repo / "dist"
    require_clean(repo)
    if not plan.releases:
        _publish_recorded_only(repo, state, publish, outdir, say)
        return plan
    require_unreleased(repo, state, plan)
    from commons_tools.build import work_tree_sources
    from commons_tools.publish import require_unpublished

    with _index_if(publish, repo, say) as target:
        if target is not None:
            require_unpublished(target, [(r.package.dist_name, r.next) for r in plan.releases])
        changes = WorkTreeChanges(repo)
        source = g.resolve(repo, "HEAD")
        epoch = max(int(time.time()), g.commit_epoch(repo) + 1)
        try:
            write_release(repo, plan, epoch, changes)
            fresh = load_workspace(repo)
            packages = [fresh.get(r.package.dist_name) for r in plan.releases]
            sources = work_tree_sources(repo, packages, epoch)
            records = [
                ReleaseRecord(s.dist_name, s.version, source, s.tree, epoch) for s in sources
            ]
            changes.record(state.path).write_text(state.render(records), encoding="utf-8")
            say(f"Building {len(packages)} package(s) into {outdir} ...")
            built = build_and_verify(repo, fresh, sources, outdir, epoch)
            say(
                "Verified: the wheels install without an index, import at their versions, and "
                "require versions of each other that this release provides."
            )
            commit = changes.commit(plan.commit_message, epoch)
        except BaseException:
            changes.restore()
            raise
        _require_committed_trees(repo, commit, fresh, records)
        for item in plan.releases:
            g.git(
                repo, "tag", "--annotate", item.tag, "-m", f"{item.package.dist_name} {item.next}"
            )
        tags = ", ".join(r.tag for r in plan.releases)
        say(f"Committed {commit[:12]}: {plan.commit_message}; tagged {tags}")
        if target is None:
            say("--no-publish: not published; the next `nox -s release` publishes it.")
            return plan
        try:
            publish_recorded(repo, target, load_state(repo), outdir, say, fresh=built)
        except ReleaseError as exc:
            raise ReleaseError(
                f"{exc} (the release is committed and tagged; run the release again to publish "
                "what is missing)"
            ) from exc
    return plan


def _require_committed_trees(
    repo: Path, commit: str, workspace: Workspace, records: Sequence[ReleaseRecord]
) -> None:
    """The release commit holds exactly the trees ``releases.toml`` records for it."""
    for record in records:
        folder = workspace.get(record.package).root.relative_to(repo).as_posix()
        committed = g.git(repo, "rev-parse", f"{commit}:{folder}")
        if committed != record.tree:
            raise StateError(
                f"{STATE_FILE}: {record.package} {record.version} records tree "
                f"{record.tree[:12]} but the release commit {commit[:12]} holds "
                f"{committed[:12]} in {folder}"
            )


def publish_recorded(
    repo: Path,
    target: IndexTarget,
    state: ReleaseState,
    outdir: Path,
    say: Say,
    *,
    fresh: Sequence[Path] = (),
    compare_latest: bool = False,
) -> None:
    """Publish every recorded release whose files the index lacks, rebuilt from its tree.

    ``fresh`` are files this run built (published as they are); with ``compare_latest`` each
    package's newest release is rebuilt even when the index has it, so its bytes are compared.
    """
    from commons_tools.build import BuildSource, rebuild_records
    from commons_tools.publish import publish_files
    from commons_tools.simple_api import project_files

    fresh_names = {path.name for path in fresh}
    listings: dict[str, set[str]] = {}
    latest = {canonicalize_name(r.package): r for r in state.records}
    wanted: list[ReleaseRecord] = []
    for record in state.records:
        names = [p.name for p in BuildSource.of_record(record).artifacts(outdir)]
        if any(name in fresh_names for name in names):
            continue
        project = canonicalize_name(record.package)
        if project not in listings:
            listings[project] = set(project_files(target, project))
        lacking = [name for name in names if name not in listings[project]]
        if lacking or (compare_latest and latest[project] is record):
            wanted.append(record)
    if wanted:
        shown = ", ".join(f"{r.package} {r.version}" for r in wanted)
        say(f"Rebuilding from {STATE_FILE}: {shown}")
    rebuilt = rebuild_records(repo, wanted, outdir)
    say(f"Publishing to {target.display}")
    report = publish_files(target, [*rebuilt, *fresh], say=say)
    say(f"{len(report.uploaded)} uploaded, {len(report.skipped)} already there.")


def _publish_recorded_only(
    repo: Path, state: ReleaseState, publish: bool, outdir: Path, say: Say
) -> None:
    """Nothing to plan: publish what the recorded releases still miss on the index."""
    if not state.records:
        say("Nothing to release.")
        return
    if not publish:
        say("Nothing to release; --no-publish: the recorded releases were not checked.")
        return
    say(f"Nothing to release; checking that the index has the releases in {STATE_FILE}.")
    with _index_if(True, repo, say) as target:
        assert target is not None
        publish_recorded(repo, target, state, outdir, say, compare_latest=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nox -s release --", description=__doc__)
    parser.add_argument("--dry-run", action="store_true", help="print the plan and stop")
    parser.add_argument("--pre", choices=("rc", "beta", "alpha"), help="make pre-releases")
    parser.add_argument(
        "--package", action="append", default=[], metavar="NAME", help="only this package"
    )
    parser.add_argument("--no-publish", action="store_true", help="commit and tag, no upload")
    parser.add_argument("--outdir", type=Path, default=None, help="where builds go (dist/)")
    parser.add_argument("--repo", type=Path, default=Path.cwd(), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        release(
            args.repo.resolve(),
            dry_run=args.dry_run,
            pre=args.pre,
            only=args.package,
            publish=not args.no_publish,
            outdir=args.outdir.resolve() if args.outdir else None,
        )
    except CommonsToolsError as exc:
        print(f"release: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"release: {describe_os_error(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # Before the commit every written file was put back; after it, a re-run publishes.
        print("release: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
