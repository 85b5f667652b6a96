"""CI runs exactly the test command the README gives."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_ci_run_uses_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- test-command -->\n```(?:console|sh|bash)?\n(?P<cmd>.+?)\n```", readme)
    assert match, "README.md has no test-command block"
    command = match["cmd"].strip()
    ci_lines = [line.strip() for line in (REPO / ".ci/run").read_text().splitlines()]
    assert command in ci_lines
