"""Instructions a command runs, counted by valgrind's callgrind: the same count for the same code
however loaded the machine is, which the benchmarks' 2% goals need (CPU time moves by more)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping


def instructions(command: list[str], env: Mapping[str, str], *, what: str) -> int:
    """Instructions ``command`` runs under callgrind with ``env`` and one hash seed (string hashes
    move dictionaries' layouts, and with them a few thousand instructions a request)."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("bench: valgrind is not on PATH (or give 0 instructions to count)")
    done = subprocess.run(
        [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
        env={**env, "PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"bench: callgrind of {what} failed:\n{done.stderr[-2000:]}")
    collected = [line for line in done.stderr.splitlines() if "Collected :" in line]
    return int(collected[-1].rsplit(":", 1)[1].strip())
