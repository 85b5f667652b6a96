"""Thin, typed wrappers over the git commands the tools need."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from commons_tools.errors import GitError
from commons_tools.processes import run


def git(repo: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    """Run ``git args`` in ``repo`` (``env`` added to the environment); its output, stripped."""
    result = run(["git", *args], cwd=repo, env=env)
    if result.returncode != 0:
        detail = result.stderr.strip() or result.stdout.strip()
        raise GitError(f"git {' '.join(args)} failed: {detail}")
    return result.stdout.strip()


def lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line]


def resolve(repo: Path, ref: str) -> str:
    """The commit a ref names; a clear error when it names none."""
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except GitError:
        raise GitError(f"{ref!r} is not a commit in {repo}") from None


def tag_exists(repo: Path, tag: str) -> bool:
    return bool(git(repo, "tag", "--list", tag))


def added_files(repo: Path, since: str, path: Path) -> list[str]:
    """Files under ``path`` added since commit ``since`` (committed, staged, or untracked)."""
    rel = path.relative_to(repo).as_posix()
    added = lines(git(repo, "diff", "--name-only", "--diff-filter=A", since, "--", rel))
    untracked = lines(git(repo, "ls-files", "--others", "--exclude-standard", "--", rel))
    return sorted(set(added) | set(untracked))


def show(repo: Path, ref: str, path: str) -> str | None:
    """The text of ``path`` at commit ``ref``, or None when it did not exist there."""
    result = run(["git", "show", f"{ref}:{path}"], cwd=repo)
    return result.stdout if result.returncode == 0 else None


def commit_epoch(repo: Path, ref: str = "HEAD") -> int:
    """The commit time of ``ref`` in seconds: the SOURCE_DATE_EPOCH of reproducible builds."""
    return int(git(repo, "log", "-1", "--format=%ct", ref))


def work_tree_ids(repo: Path, folders: Sequence[str]) -> dict[str, str]:
    """The git tree id each folder (``packages/common_utils``) would have if the work tree were
    committed now: HEAD plus every change, deletion and untracked (not ignored) file under it.

    A scratch index is used, so the repository's own index is left as it is.
    """
    with tempfile.TemporaryDirectory(prefix="commons-index-") as scratch:
        env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
        git(repo, "read-tree", "HEAD", env=env)
        git(repo, "add", "--all", "--", *folders, env=env)
        return {
            folder: git(repo, "write-tree", f"--prefix={folder.rstrip('/')}/", env=env)
            for folder in folders
        }


def tree_changes(repo: Path, old: str, new: str, path: str = "") -> list[str]:
    """Paths (relative to the trees) that differ between tree ids ``old`` and ``new``."""
    args = ["diff-tree", "-r", "--name-only", "--no-renames", old, new]
    return lines(git(repo, *args, *(["--", path] if path else [])))


def archive(repo: Path, tree: str) -> bytes:
    """The files of tree (or commit) ``tree`` as a tar archive."""
    result = subprocess.run(
        ["git", "archive", "--format=tar", tree], cwd=repo, capture_output=True, check=False
    )
    if result.returncode != 0:
        detail = result.stderr.decode("utf-8", "replace").strip()
        raise GitError(f"git archive {tree} failed: {detail}")
    return result.stdout
