"""CI runs exactly the test command the README gives, and `ci` checks what it is asked."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_ci_run_uses_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- test-command -->\n```(?:console|sh|bash)?\n(?P<cmd>.+?)\n```", readme)
    assert match, "README.md has no test-command block"
    command = match["cmd"].strip()
    ci_lines = [line.strip() for line in (REPO / ".ci/run").read_text().splitlines()]
    assert command in ci_lines


def _nox_ci(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nox", "-f", str(REPO / "noxfile.py"), "-s", "ci", "--", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def test_ci_names_what_is_not_one_of_its_sessions() -> None:
    done = _nox_ci("lint", "no-such-session")
    assert done.returncode != 0
    assert "ci: not CI sessions: no-such-session; they are: lint," in done.stdout + done.stderr


def test_ci_refuses_a_number_of_jobs_that_is_not_one() -> None:
    done = _nox_ci("lint", env={"COMMONS_CI_JOBS": "0"})
    assert done.returncode != 0
    assert "COMMONS_CI_JOBS='0': expected how many sessions run at once (1+)" in (
        done.stdout + done.stderr
    )
