"""Fixtures for the foundation's tests: a throw-away git copy of the workspace."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def git() -> Callable[..., str]:
    """``git(repo, *args)``: run git in a repository and return its output."""
    return _git


@pytest.fixture
def workspace_repo(tmp_path: Path) -> Path:
    """A fresh git repository holding a copy of the packages (sources, fragments, configuration)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy2(REPO / "pyproject.toml", repo / "pyproject.toml")
    for package in sorted((REPO / "packages").iterdir()):
        if not (package / "pyproject.toml").is_file():
            continue
        target = repo / "packages" / package.name
        target.mkdir(parents=True)
        for name in ("pyproject.toml", "README.md", "CHANGELOG.md"):
            shutil.copy2(package / name, target / name)
        shutil.copytree(package / "changelog.d", target / "changelog.d")
        module = package.name
        shutil.copytree(
            package / "src" / module,
            target / "src" / module,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
    _git(repo, "init", "--quiet", "--initial-branch=main")
    _git(repo, "config", "user.name", "Test Maintainer")
    _git(repo, "config", "user.email", "maintainer@example.invalid")
    _git(repo, "config", "commit.gpgsign", "false")
    _git(repo, "config", "tag.gpgsign", "false")
    _git(repo, "add", "-A")
    _git(repo, "commit", "--quiet", "-m", "Initial state")
    return repo
