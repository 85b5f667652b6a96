"""Fixtures for the foundation's tests: a throw-away git copy of the workspace."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from commons_tools.git import git as _git
from commons_tools.rehearsal import START, as_never_released
from commons_tools.workspace import load_workspace

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def git() -> Callable[..., str]:
    """``git(repo, *args)``: run git in a repository and return its output."""
    return _git


def _tool(module: str, repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", f"commons_tools.{module}", *args],
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(REPO / "tools")},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def tool() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``tool("gate", repo, *args)``: run ``python -m commons_tools.gate`` in ``repo`` as the nox
    sessions do."""
    return _tool


@pytest.fixture
def workspace_repo(tmp_path: Path) -> Path:
    """A fresh git repository holding a copy of the packages (sources, fragments, configuration)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy2(REPO / "pyproject.toml", repo / "pyproject.toml")
    for member in load_workspace(REPO).packages:
        target = repo / member.root.relative_to(REPO)
        target.mkdir(parents=True)
        for name in ("pyproject.toml", "README.md", "CHANGELOG.md"):
            shutil.copy2(member.root / name, target / name)
        shutil.copytree(member.changelog_dir, target / "changelog.d")
        shutil.copytree(
            member.src / member.module,
            target / "src" / member.module,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
    # The repository carries its own releases; the copy is a repository that never released,
    # whose packages announce their first release.
    workspace = load_workspace(repo)
    as_never_released(repo, workspace, START)
    for member in workspace.packages:
        announcement = member.changelog_dir / "+announce.feature.md"
        announcement.write_text(f"Released `{member.dist_name}` for the first time.\n")
    _git(repo, "init", "--quiet", "--initial-branch=main")
    _git(repo, "config", "user.name", "Test Maintainer")
    _git(repo, "config", "user.email", "maintainer@example.invalid")
    _git(repo, "config", "commit.gpgsign", "false")
    _git(repo, "config", "tag.gpgsign", "false")
    _git(repo, "add", "-A")
    _git(repo, "commit", "--quiet", "-m", "Initial state")
    return repo
