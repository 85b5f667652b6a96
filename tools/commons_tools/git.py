"""Thin, typed wrappers over the git commands the tools need."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from commons_tools.processes import run


class GitError(Exception):
    """A git command failed; the message carries the command and what git said."""


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


def changed_files(repo: Path, since: str | None, path: Path) -> list[str]:
    """Files under ``path`` that differ from commit ``since`` (work tree included, untracked too).

    With ``since=None`` every file under ``path`` counts as changed (nothing was released yet).
    """
    rel = path.relative_to(repo).as_posix()
    untracked = lines(git(repo, "ls-files", "--others", "--exclude-standard", "--", rel))
    if since is None:
        tracked = lines(git(repo, "ls-files", "--", rel))
    else:
        tracked = lines(git(repo, "diff", "--name-only", since, "--", rel))
    return sorted(set(tracked) | set(untracked))


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
