"""Helpers of the template's tests: copier and git runs, an on-disk package index."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "templates" / "service"
LOCK = TEMPLATE / "template" / "requirements.txt"
COPIER = Path(sys.executable).with_name("copier")


def copier(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run copier (the session's) and fail the test with its output when it fails."""
    result = subprocess.run(
        [str(COPIER), *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, f"copier {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` with a fixed identity; its output."""
    result = subprocess.run(
        ["git", "-c", "user.name=Template Tests", "-c", "user.email=tests@example.invalid", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return result.stdout


def pinned_releases(lock: Path) -> list[str]:
    """The ``common-*==VERSION`` pins of a lock file."""
    pins = re.findall(r"^(common-[a-z]+)==(\S+)", lock.read_text(), flags=re.MULTILINE)
    return [f"{name}=={version}" for name, version in pins]


def write_simple_index(files: Sequence[Path], root: Path) -> str:
    """A PEP 503 index of ``files`` under ``root``; its ``file://`` simple URL."""
    simple = root / "simple"
    projects: dict[str, list[Path]] = {}
    for path in files:
        project = re.split(r"-\d", path.name, maxsplit=1)[0].replace("_", "-").lower()
        projects.setdefault(project, []).append(path)
    for project, paths in projects.items():
        folder = simple / project
        folder.mkdir(parents=True)
        links = "".join(
            f'<a href="{path.as_uri()}#sha256={hashlib.sha256(path.read_bytes()).hexdigest()}">'
            f"{path.name}</a>\n"
            for path in paths
        )
        (folder / "index.html").write_text(
            f"<!DOCTYPE html>\n<html><body>\n{links}</body></html>\n"
        )
    (simple / "index.html").write_text("".join(f'<a href="{p}/">{p}</a>\n' for p in projects))
    return simple.as_uri() + "/"
