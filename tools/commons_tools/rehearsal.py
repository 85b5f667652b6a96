"""Rehearsal copies of the repository: throw-away git repositories holding the committed packages,
in which a release runs for real (the release tests and the release benchmark use them)."""

from __future__ import annotations

import io
import subprocess
import tarfile
from collections.abc import Mapping
from pathlib import Path

from packaging.version import Version

from commons_tools import git as g
from commons_tools.plan import compatible_range, requirement_text
from commons_tools.state import STATE_FILE, ReleaseRecord, load_state
from commons_tools.workspace import Workspace, load_workspace, write_version

#: What a release needs of the repository: the root files and the packages (their tests left out).
#: Not ``releases.toml``: a rehearsal records its own releases (``released``).
COPIED = ("pyproject.toml", ".gitignore", "CHANGELOG.md", "packages")
START = Version("0.1.0")
#: The time of a rehearsal's own commits: fixed, so that two rehearsals of one tree are like two
#: clones of one repository (same commits, same recorded releases, same bytes when rebuilt).
COMMIT_DATE = "@1767225600 +0000"
FIXED_DATE = {"GIT_AUTHOR_DATE": COMMIT_DATE, "GIT_COMMITTER_DATE": COMMIT_DATE}
IDENTITY = {"user.name": "Rehearsal Maintainer", "user.email": "maintainer@example.invalid"}


def committed_tree(source: Path, ref: str = "HEAD") -> bytes:
    """The copied paths of ``ref`` in ``source`` as a tar archive (no work in progress)."""
    present = [name for name in COPIED if (source / name).exists()]
    return subprocess.run(
        ["git", "archive", "--format=tar", ref, *present],
        cwd=source,
        check=True,
        capture_output=True,
    ).stdout


def make_rehearsal(
    tree: bytes,
    dest: Path,
    *,
    fragments: Mapping[str, Mapping[str, str]] | None = None,
    version: Version | None = START,
    released: bool = True,
) -> Path:
    """Unpack ``tree`` into a new git repository at ``dest``.

    Every package is set to ``version`` (None keeps the committed ones) and loses its pending
    fragments; with ``released`` each is recorded in ``releases.toml`` as released at that
    version from the first commit (as a release run records it) and tagged. The given
    ``fragments`` (``{"common-utils": {"+x.fix.md": "Fixed x."}}``) are then committed on top.
    """
    dest.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(tree)) as archive:
        members = [m for m in archive.getmembers() if "/tests/" not in f"/{m.name}/"]
        archive.extractall(dest, members=members, filter="data")
    workspace = load_workspace(dest)
    if version is not None:
        as_never_released(dest, workspace, version)
    for package in workspace.packages:
        for path in package.changelog_dir.iterdir():
            if path.is_file() and path.name != ".gitkeep":
                path.unlink()
    g.git(dest, "init", "--quiet", "--initial-branch=main")
    for key, value in {**IDENTITY, "commit.gpgsign": "false", "tag.gpgsign": "false"}.items():
        g.git(dest, "config", key, value)
    g.git(dest, "add", "-A")
    g.git(dest, "commit", "--quiet", "-m", "Rehearsal: the committed packages", env=FIXED_DATE)
    if released:
        record_as_released(dest, note="before the rehearsal")
    known = {p.dist_name: p for p in workspace.packages}
    for name, files in (fragments or {}).items():
        for filename, text in files.items():
            (known[name].changelog_dir / filename).write_text(text, encoding="utf-8")
    if fragments:
        g.git(dest, "add", "-A")
        g.git(dest, "commit", "--quiet", "-m", "Changes with news fragments", env=FIXED_DATE)
    return dest


#: Where towncrier's entries (each package's CHANGELOG.md) and the release log (the root's) begin.
CHANGELOG_STARTS = ("<!-- towncrier release notes start -->\n", "<!-- release log start -->\n")


def as_never_released(dest: Path, workspace: Workspace, version: Version) -> None:
    """Put every package at ``version`` as if the repository had never released: changelogs
    without entries, and each range on another package admitting ``version``. The repository
    this copies carries its own releases; a rehearsal starts from none of them."""
    for changelog in [dest / "CHANGELOG.md", *(p.changelog for p in workspace.packages)]:
        if not changelog.is_file():
            continue
        text = changelog.read_text(encoding="utf-8")
        for start in CHANGELOG_STARTS:
            if start in text:
                changelog.write_text(text[: text.index(start) + len(start)], encoding="utf-8")
    for package in workspace.packages:
        write_version(package.about, version)
        pyproject = package.pyproject.read_text(encoding="utf-8")
        for requirement, _dependency in workspace.internal_requirements(package):
            old = requirement_text(requirement)
            extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
            marker = f"; {requirement.marker}" if requirement.marker else ""
            new = f"{requirement.name}{extras}{compatible_range(version)}{marker}"
            pyproject = pyproject.replace(f'"{old}"', f'"{new}"')
        package.pyproject.write_text(pyproject, encoding="utf-8")


def record_as_released(repo: Path, *, note: str = "recorded") -> None:
    """Record every package of ``repo`` as released at its current version from HEAD, in
    ``releases.toml`` (a commit of its own at HEAD's time, as a release run makes) and with
    tags."""
    workspace = load_workspace(repo)
    source = g.resolve(repo, "HEAD")
    epoch = g.commit_epoch(repo)
    records = [
        ReleaseRecord(
            package.dist_name,
            package.version,
            source,
            g.git(repo, "rev-parse", f"HEAD:{package.root.relative_to(repo).as_posix()}"),
            epoch,
        )
        for package in workspace.packages
    ]
    state = load_state(repo)
    state.path.write_text(state.render(records), encoding="utf-8")
    g.git(repo, "add", "--", STATE_FILE)
    names = ", ".join(f"{p.dist_name} {p.version}" for p in workspace.packages)
    date = f"@{epoch} +0000"
    g.git(
        repo,
        "commit",
        "--quiet",
        "-m",
        f"Release {names} ({note})",
        env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date},
    )
    for package in workspace.packages:
        g.git(repo, "tag", "--annotate", package.tag(), "-m", note)
