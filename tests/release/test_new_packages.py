"""A package ``releases.toml`` records no release of (a service's new client) reaches the index
by the demo's path: released as its fragments ask, beside the republished recorded releases."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.version import Version

from commons_tools import git as g
from commons_tools.demo import publish_current
from commons_tools.index import RunningIndex
from commons_tools.simple_api import IndexTarget, project_versions
from commons_tools.state import ReleaseRecord, load_state
from commons_tools.workspace import load_workspace

pytestmark = pytest.mark.slow


def _record_hand_written_packages_as_released(repo: Path) -> None:
    """releases.toml records the runtime and the other hand-written packages, not the clients."""
    source = g.resolve(repo, "HEAD")
    epoch = g.commit_epoch(repo)
    records = [
        ReleaseRecord(
            p.dist_name,
            p.version,
            source,
            g.git(repo, "rev-parse", f"HEAD:{p.root.relative_to(repo).as_posix()}"),
            epoch,
        )
        for p in load_workspace(repo).packages
        if p.spec is None
    ]
    state = load_state(repo)
    state.path.write_text(state.render(records), encoding="utf-8")
    g.git(repo, "add", "--", state.path.name)
    g.git(repo, "commit", "--quiet", "-m", "Release the hand-written packages")


def test_the_demo_releases_the_packages_releases_toml_does_not_record(
    make_repo: Callable[..., Path],
    index: RunningIndex,
    index_target: IndexTarget,
    index_env: Callable[..., dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = make_repo(
        released=False,
        fragments={"common-clients-users": {"+users-client.feature.md": "The users client.\n"}},
    )
    _record_hand_written_packages_as_released(repo)
    for name, value in index_env(index).items():
        monkeypatch.setenv(name, value)
    lines: list[str] = []

    versions = publish_current(repo, index, lines.append)

    said = "\n".join(lines)
    assert (
        "never released: common-clients-notifications, common-clients-orders, "
        "common-clients-users; releasing what the fragments ask for" in said
    )
    # The client with a fragment is released (recorded, tagged, on the index) at its version.
    record = load_state(repo).last("common-clients-users")
    assert record is not None
    assert record.version == Version("0.1.0")
    assert g.tag_exists(repo, "common-clients-users-v0.1.0")
    assert project_versions(index_target, "common-clients-users") == [Version("0.1.0")]
    # The recorded releases are republished, not released again.
    assert project_versions(index_target, "common-clients") == [Version("0.1.0")]
    assert load_state(repo).last("common-clients") is not None
    # A client with nothing to release still reaches the index, as a build of HEAD.
    assert "never released in this clone: common-clients-notifications 0.1.0" in said
    assert project_versions(index_target, "common-clients-orders") == [Version("0.1.0")]
    assert versions["common-clients-users"] == "0.1.0"
