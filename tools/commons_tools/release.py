"""The release run (``nox -s release``): plan, write, build and verify, commit and tag, publish.

1. Plan from the pending fragments, with the cascade (:mod:`commons_tools.plan`), and print it;
   ``--dry-run`` stops here and changes nothing.
2. Refuse a dirty work tree or an existing tag; check that the index answers, takes our
   credentials and has no file of a planned version, before anything is written.
3. Write: ``__about__.py``, the rewritten ranges and an auto-written fragment in each cascaded
   dependent, towncrier per package, one entry in the root CHANGELOG.md.
4. Build each released package reproducibly (SOURCE_DATE_EPOCH is the time the release commit will
   carry, so a rebuild from the commit gives the same bytes), ``twine check``, install the wheels
   into a fresh venv without any index and compare each ``__version__``.
5. Commit ``Release common-auth 1.3.0, common-utils 0.2.0`` and tag ``<dist-name>-v<version>``.
   Until this commit every write is recorded and undone if a step fails.
6. Publish (:mod:`commons_tools.publish`). A run with nothing to plan rebuilds each package's
   tagged current release from its tag (same bytes) and publishes what the index still misses: a
   re-run finishes a half-failed publish, or one skipped with ``--no-publish``.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import re
import site
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import tomlkit
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from commons_tools import git as g
from commons_tools.build import BuildError, build_and_check, build_package, twine_check
from commons_tools.errors import ReleaseError, VerifyError, WorkTreeError
from commons_tools.fragments import FragmentError
from commons_tools.plan import Plan, PlannedRelease, make_plan, requirement_text
from commons_tools.processes import run, tail
from commons_tools.publish import (
    check_credentials,
    publish_files,
    release_index,
    require_unpublished,
)
from commons_tools.simple_api import IndexTarget, check_reachable
from commons_tools.workspace import (
    Package,
    Workspace,
    WorkspaceError,
    load_workspace,
    write_version,
)

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


def require_new_tags(repo: Path, plan: Plan) -> None:
    """Refuse a release whose tag already exists: that version was released before."""
    for release in plan.releases:
        if g.tag_exists(repo, release.tag):
            commit = g.resolve(repo, release.tag)[:12]
            raise WorkTreeError(
                f"tag {release.tag} already exists (at {commit}): "
                f"{release.package.dist_name} {release.next} was released before "
                f"(is {release.package.about.relative_to(repo)} behind its tags?)"
            )


# -- writing ---------------------------------------------------------------------------------


def rewrite_ranges(release: PlannedRelease, changes: WorkTreeChanges) -> None:
    """Rewrite the cascaded requirements in the dependent's pyproject, keeping its comments."""
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
        path.write_text(
            f"Required `{change.new_text}` (was `{change.old_text}`): "
            f"{change.dependency} {moved} was released outside the old range.\n",
            encoding="utf-8",
        )


def run_towncrier(repo: Path, release: PlannedRelease, day: str, changes: WorkTreeChanges) -> None:
    """Consume the package's fragments into its CHANGELOG.md."""
    package = release.package
    changes.record(package.changelog)
    for path in package.changelog_dir.iterdir():
        changes.record(path)
    rel = package.root.relative_to(repo).as_posix()
    result = run(
        [
            sys.executable,
            "-m",
            "towncrier",
            "build",
            "--yes",
            "--config",
            f"{rel}/pyproject.toml",
            "--dir",
            rel,
            "--version",
            str(release.next),
            "--date",
            day,
        ],
        cwd=repo,
    )
    if result.returncode != 0:
        raise ReleaseError(f"towncrier did not build {package.changelog}: {tail(result, 3)}")


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
        run_towncrier(repo, release, day, changes)
    write_root_changelog(repo, plan, day, changes)


# -- building and verifying ------------------------------------------------------------------


def uv_command() -> list[str]:
    """uv from the tools' requirements when installed there, else from PATH."""
    return [sys.executable, "-m", "uv"] if importlib.util.find_spec("uv") else ["uv"]


_VERIFY_SCRIPT = """
import importlib, importlib.metadata, json, sys
found = {}
for dist, module in json.loads(sys.argv[1]).items():
    imported = importlib.import_module(module)
    found[dist] = [imported.__version__, importlib.metadata.version(dist), imported.__file__]
print(json.dumps(found))
"""


def verify_wheels(wheels: Sequence[Path], expected: dict[str, tuple[str, str]]) -> None:
    """Install ``wheels`` into a fresh venv without any index and import each at its version.

    ``expected`` maps dist name -> (module, version). The wheels come from their files alone
    (``--no-index --no-deps``); their third-party dependencies are the release environment's,
    reached through a path entry placed after the venv's own site-packages.
    """
    with tempfile.TemporaryDirectory(prefix="commons-verify-") as scratch:
        venv = Path(scratch) / "venv"
        _run_checked([*uv_command(), "venv", "--quiet", "--python", sys.executable, str(venv)])
        python = venv / "bin" / "python"
        _run_checked(
            [
                *uv_command(),
                "pip",
                "install",
                "--quiet",
                "--python",
                str(python),
                "--no-index",
                "--no-deps",
                *map(str, wheels),
            ]
        )
        purelib = _run_checked(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        ).strip()
        outer = [p for p in site.getsitepackages() if Path(p).is_dir()]
        (Path(purelib) / "_commons_release_environment.pth").write_text(
            "".join(f"{p}\n" for p in outer), encoding="utf-8"
        )
        modules = {dist: module for dist, (module, _) in expected.items()}
        result = run([str(python), "-I", "-c", _VERIFY_SCRIPT, json.dumps(modules)])
        if result.returncode != 0:
            last = result.stderr.strip().splitlines()[-1:] or ["(no output)"]
            raise VerifyError(f"the new wheels do not import in a fresh venv: {last[0]}")
        found = json.loads(result.stdout)
        for dist, (module, version) in expected.items():
            module_version, dist_version, location = found[dist]
            if not location.startswith(str(venv)):
                raise VerifyError(f"{module} was imported from {location}, not from its wheel")
            if module_version != version or dist_version != version:
                raise VerifyError(
                    f"{dist}: the wheel says {module}.__version__={module_version} and "
                    f"metadata {dist_version}, the plan says {version}"
                )


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


def _run_checked(command: Sequence[str]) -> str:
    result = run(command)
    if result.returncode != 0:
        raise VerifyError(f"{' '.join(command[:4])} ... failed: {tail(result, 3)}")
    return result.stdout


# -- the run ---------------------------------------------------------------------------------


def tagged_releases(repo: Path, say: Say = print) -> list[tuple[Package, str]]:
    """Each package whose current version carries its release tag, with the tag's commit.

    A release commit at HEAD whose run stopped before tagging (``Release a 1.0, b 2.0`` naming
    the versions the packages hold, their tags absent) gets its missing tags here first.
    """
    head = g.resolve(repo, "HEAD")
    workspace = load_workspace(repo)
    subject = g.git(repo, "log", "-1", "--format=%s")
    if subject.startswith("Release "):
        pairs = [part.rsplit(" ", 1) for part in subject.removeprefix("Release ").split(", ")]
        named = {pair[0]: pair[1] for pair in pairs if len(pair) == 2}
        for package in workspace.packages:
            if named.get(package.dist_name) == str(package.version) and not g.tag_exists(
                repo, package.tag()
            ):
                message = f"{package.dist_name} {package.version}"
                g.git(repo, "tag", "--annotate", package.tag(), "-m", message, head)
                say(f"Tagged {package.tag()}: the release commit at HEAD was left untagged.")
    return [
        (package, g.resolve(repo, package.tag()))
        for package in workspace.packages
        if g.tag_exists(repo, package.tag())
    ]


def build_tagged(repo: Path, releases: Sequence[tuple[Package, str]], outdir: Path) -> list[Path]:
    """Rebuild each release from its tagged commit, with that commit's time as
    SOURCE_DATE_EPOCH: the bytes the release run built and verified."""
    head = g.resolve(repo, "HEAD")
    built: list[Path] = []
    for package, commit in releases:
        epoch = g.commit_epoch(repo, commit)
        if commit == head:
            built.extend(build_package(package, outdir, epoch=epoch))
            continue
        # A detached worktree of the tagged commit: the same files, .gitignore and .git layout
        # the release run built from (hatchling puts the repository's .gitignore in sdists).
        with tempfile.TemporaryDirectory(prefix="commons-tagged-") as scratch:
            checkout = Path(scratch) / "tree"
            g.git(repo, "worktree", "add", "--quiet", "--detach", str(checkout), commit)
            root = checkout / package.root.relative_to(repo)
            try:
                tagged = dataclasses.replace(package, root=root)
                built.extend(build_package(tagged, outdir, epoch=epoch))
            finally:
                g.git(repo, "worktree", "remove", "--force", str(checkout))
    twine_check(built)
    return built


@contextmanager
def _index_if(publish: bool, repo: Path, say: Say) -> Iterator[IndexTarget | None]:
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

    Raises a :class:`ReleaseError` (or one of the foundation's errors) with a one-line reason;
    when that happens before the commit, the work tree is as it was.
    """
    workspace = load_workspace(repo)
    plan = make_plan(workspace, pre=pre, only=only)
    say(plan.table())
    if dry_run:
        say("--dry-run: nothing was written, committed, tagged or published.")
        return plan
    outdir = outdir or repo / "dist"
    require_clean(repo)
    if not plan.releases:
        _publish_tagged(repo, publish, outdir, say)
        return plan
    require_new_tags(repo, plan)
    with _index_if(publish, repo, say) as target:
        if target is not None:
            require_unpublished(target, [(r.package.dist_name, r.next) for r in plan.releases])
        changes = WorkTreeChanges(repo)
        epoch = max(int(time.time()), g.commit_epoch(repo) + 1)
        try:
            write_release(repo, plan, epoch, changes)
            fresh = load_workspace(repo)
            packages = [fresh.get(r.package.dist_name) for r in plan.releases]
            say(f"Building {len(packages)} package(s) into {outdir} ...")
            built = build_and_check(packages, outdir, epoch)
            expected = {p.dist_name: (p.module, str(p.version)) for p in packages}
            wheels = [p for p in built if p.suffix == ".whl"]
            with tempfile.TemporaryDirectory(prefix="commons-deps-") as scratch:
                # Workspace packages the released ones need but that stay at their version:
                # built too (not published), so the venv holds the workspace as released.
                others = unreleased_dependencies(fresh, packages)
                extra = build_and_check(others, Path(scratch), epoch) if others else []
                verify_wheels(wheels + [p for p in extra if p.suffix == ".whl"], expected)
            verify_internal_requirements(
                wheels, {canonicalize_name(p.dist_name): p.version for p in fresh.packages}
            )
            say(
                "Verified: the wheels install without an index, import at their versions, and "
                "require versions of each other that this release provides."
            )
            commit = changes.commit(plan.commit_message, epoch)
        except BaseException:
            changes.restore()
            raise
        for item in plan.releases:
            g.git(
                repo, "tag", "--annotate", item.tag, "-m", f"{item.package.dist_name} {item.next}"
            )
        tags = ", ".join(r.tag for r in plan.releases)
        say(f"Committed {commit[:12]}: {plan.commit_message}; tagged {tags}")
        if target is None:
            say("--no-publish: not published; a `nox -s release` with nothing to plan will.")
            return plan
        say(f"Publishing to {target.display}")
        try:
            publish_files(target, built, say=say)
        except ReleaseError as exc:
            raise ReleaseError(
                f"{exc} (the release is committed and tagged; run the release again to publish "
                "what is missing)"
            ) from exc
    return plan


def _publish_tagged(repo: Path, publish: bool, outdir: Path, say: Say) -> None:
    """Nothing to plan: publish what the tagged current releases still miss on the index."""
    releases = tagged_releases(repo, say)
    if not releases:
        say("Nothing to release.")
        return
    if not publish:
        say("Nothing to release; --no-publish: the tagged releases were not checked on the index.")
        return
    names = ", ".join(f"{p.dist_name} {p.version} ({commit[:12]})" for p, commit in releases)
    say(f"Nothing to release; checking that the index has the tagged releases: {names}.")
    built = build_tagged(repo, releases, outdir)
    with _index_if(True, repo, say) as target:
        assert target is not None
        say(f"Publishing to {target.display}")
        report = publish_files(target, built, say=say)
    say(f"{len(report.uploaded)} uploaded, {len(report.skipped)} already there.")


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
    except (ReleaseError, WorkspaceError, FragmentError, BuildError, g.GitError) as exc:
        print(f"release: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
