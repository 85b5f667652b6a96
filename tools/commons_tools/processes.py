"""Running the tools' subprocesses: output captured as text, and its last lines for an error."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path


def run(
    command: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` to its end, capturing its output; ``env`` is added to this environment.

    The exit status is the caller's to judge: each turns a failure into its own one-line error.
    """
    return subprocess.run(
        list(command),
        cwd=cwd,
        env=None if env is None else {**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def tail(result: subprocess.CompletedProcess[str], count: int, sep: str = " ") -> str:
    """The last ``count`` non-empty lines of what a process said (stdout, then stderr)."""
    return sep.join((result.stdout + result.stderr).strip().splitlines()[-count:])


def uv_command() -> list[str]:
    """uv from the tools' requirements when installed there, else from PATH."""
    return [sys.executable, "-m", "uv"] if importlib.util.find_spec("uv") else ["uv"]
