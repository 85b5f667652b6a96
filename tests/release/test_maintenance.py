"""Maintenance releases: a fix for an older line, released from a branch with the same command."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from commons_tools.index import RunningIndex
from commons_tools.simple_api import IndexTarget, project_versions
from commons_tools.state import load_state

pytestmark = pytest.mark.slow


def _commit(kit: Any, repo: Path, message: str) -> None:
    kit.git(repo, "add", "-A")
    kit.git(repo, "commit", "--quiet", "-m", message)


def _fragment(kit: Any, repo: Path, module: str, name: str, text: str) -> None:
    (repo / f"packages/{module}/changelog.d/{name}").write_text(text)
    _commit(kit, repo, f"{module}: {name}")


def test_a_fix_for_an_older_line_is_released_from_a_maintenance_branch(
    kit: Any, index: RunningIndex, index_target: IndexTarget
) -> None:
    repo = kit.make_repo(fragments={"common-utils": {"+a.breaking.md": "Removed `a`.\n"}})
    env = kit.index_env(index)
    assert kit.tool("release", repo=repo, env=env).returncode == 0  # common-utils 0.2.0
    line_start = kit.git(repo, "rev-parse", "HEAD")
    _fragment(kit, repo, "common_utils", "+b.feature.md", "Added `b`.\n")
    assert kit.tool("release", repo=repo, env=env).returncode == 0  # common-utils 0.3.0
    main_state = (repo / "releases.toml").read_text()
    main_head = kit.git(repo, "rev-parse", "HEAD")
    main_tags = set(kit.git(repo, "tag").split())

    # The branch starts at the 0.2.0 release commit (found without tags: the commit whose
    # releases.toml first records common-utils 0.2.0).
    kit.git(repo, "switch", "--quiet", "-c", "maint/common-utils-0.2", line_start)
    assert str(load_state(repo).last("common-utils").version) == "0.2.0"  # type: ignore[union-attr]
    _fragment(kit, repo, "common_utils", "+c.fix.md", "Fixed `c` on the 0.2 line.\n")

    dry = kit.tool("release", "--dry-run", repo=repo, env=env)
    assert dry.returncode == 0, dry.stderr
    assert re.search(r"^common-utils +0\.2\.0 -> 0\.2\.1 ", dry.stdout, re.MULTILINE)
    # 0.2.1 is inside the dependents' ranges on this line: no cascade.
    assert "cascade" not in dry.stdout

    made = kit.tool("release", repo=repo, env=env)

    assert made.returncode == 0, made.stderr
    assert kit.git(repo, "log", "-1", "--format=%s") == "Release common-utils 0.2.1"
    utils_log = (repo / "packages/common_utils/CHANGELOG.md").read_text()
    assert "## 0.2.1 (" in utils_log
    assert "Fixed `c` on the 0.2 line." in utils_log
    assert "Added `b`." not in utils_log  # main's 0.3.0 entry is not on this line
    branch_state = load_state(repo)
    assert [str(r.version) for r in branch_state.of("common-utils")] == ["0.1.0", "0.2.0", "0.2.1"]
    versions = [str(v) for v in project_versions(index_target, "common-utils")]
    assert versions == ["0.1.0", "0.2.0", "0.2.1", "0.3.0"]

    # Main is as it was: its state file still true, its next release plans from 0.3.0.
    kit.git(repo, "switch", "--quiet", "main")
    assert kit.git(repo, "rev-parse", "HEAD") == main_head
    assert (repo / "releases.toml").read_text() == main_state
    assert set(kit.git(repo, "tag").split()) == main_tags | {"common-utils-v0.2.1"}
    _fragment(kit, repo, "common_utils", "+d.fix.md", "Fixed `d`.\n")
    dry = kit.tool("release", "--dry-run", repo=repo, env=env)
    assert re.search(r"^common-utils +0\.3\.0 -> 0\.3\.1 ", dry.stdout, re.MULTILINE)
    # A re-publish from main leaves the maintenance release alone and finds its own there.
    kit.git(repo, "reset", "--quiet", "--hard", "HEAD~1")
    again = kit.tool("release", repo=repo, env=env)
    assert again.returncode == 0, again.stderr
    assert "0 uploaded" in again.stdout

    # A fix on the maintenance line that would take a version main released is refused.
    kit.git(repo, "switch", "--quiet", "maint/common-utils-0.2")
    _fragment(kit, repo, "common_utils", "+e.feature.md", "Added `e` on the old line.\n")
    clash = kit.tool("release", repo=repo, env=env)
    assert clash.returncode == 1
    assert "tag common-utils-v0.3.0 already exists" in clash.stderr
