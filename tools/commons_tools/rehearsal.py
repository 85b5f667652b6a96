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
from commons_tools.workspace import load_workspace, write_version

#: What a release needs of the repository: the root files and the packages (their tests left out).
COPIED = ("pyproject.toml", ".gitignore", "CHANGELOG.md", "packages")
START = Version("0.1.0")
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
    fragments; with ``released`` each is tagged as released at that version. The given
    ``fragments`` (``{"common-utils": {"+x.fix.md": "Fixed x."}}``) are then committed on top.
    """
    dest.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(tree)) as archive:
        members = [m for m in archive.getmembers() if "/tests/" not in f"/{m.name}/"]
        archive.extractall(dest, members=members, filter="data")
    workspace = load_workspace(dest)
    for package in workspace.packages:
        if version is not None:
            write_version(package.about, version)
        for path in package.changelog_dir.iterdir():
            if path.is_file() and path.name != ".gitkeep":
                path.unlink()
        (package.changelog_dir / ".gitkeep").touch()
    g.git(dest, "init", "--quiet", "--initial-branch=main")
    for key, value in {**IDENTITY, "commit.gpgsign": "false", "tag.gpgsign": "false"}.items():
        g.git(dest, "config", key, value)
    g.git(dest, "add", "-A")
    g.git(dest, "commit", "--quiet", "-m", "Rehearsal: the committed packages")
    if released:
        for package in workspace.packages:
            g.git(dest, "tag", "--annotate", package.tag(), "-m", "released before the rehearsal")
    known = {p.dist_name: p for p in workspace.packages}
    for name, files in (fragments or {}).items():
        for filename, text in files.items():
            (known[name].changelog_dir / filename).write_text(text, encoding="utf-8")
    if fragments:
        g.git(dest, "add", "-A")
        g.git(dest, "commit", "--quiet", "-m", "Changes with news fragments")
    return dest
