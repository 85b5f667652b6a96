"""Publishing: a half-failed publish completes on a re-run, different bytes are refused, and bad
input stops a release with one line and the work tree as it was."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from commons_tools.index import RunningIndex, free_port, start_index

pytestmark = pytest.mark.slow


THREE = {
    "common-utils": {"+a.feature.md": "Added `common_utils.a`.\n"},
    "common-auth": {"+b.fix.md": "Fixed `common_auth.b`.\n"},
    "common-clients": {"+c.fix.md": "Fixed `common_clients.c`.\n"},
}


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_publish_interrupted_after_first_package_completes_on_rerun_without_double_uploads(
    kit: Any, index: RunningIndex, stopping_proxy: Callable[..., Any]
) -> None:
    make_repo, tool, git, index_env = kit.make_repo, kit.tool, kit.git, kit.index_env
    repo = make_repo(fragments=THREE)
    # The fresh index lacks the recorded 0.1.0 releases too: they go up as well, wheels first
    # (twine's order), dependencies first. It stops for good after four uploads.
    cut = stopping_proxy(index, 4)

    interrupted = tool("release", repo=repo, env=index_env(index, cut.url))

    assert interrupted.returncode == 1
    line = _one_line(interrupted.stderr)
    assert "uploading common_clients-0.1.0-py3-none-any.whl to " in line
    assert "502 Bad Gateway" in line
    assert "run the release again to publish what is missing" in line
    assert sorted(p.name for p in index.storage.iterdir()) == [
        "common_auth-0.1.0-py3-none-any.whl",
        "common_auth-0.1.1-py3-none-any.whl",
        "common_utils-0.1.0-py3-none-any.whl",
        "common_utils-0.2.0-py3-none-any.whl",
    ]
    assert len(git(repo, "tag", "--points-at", "HEAD").split()) == 3
    assert git(repo, "status", "--porcelain") == ""

    with start_index(index.home) as restarted:
        counter = stopping_proxy(restarted, 0)
        resumed = tool("release", repo=repo, env=index_env(restarted, counter.url))

        assert resumed.returncode == 0, resumed.stderr
        assert resumed.stdout.count("  skip    common_utils-0.2.0-py3-none-any.whl") == 1
        # The rest of the three releases, and 0.1.0 of each client package, recorded before.
        assert counter.uploads == 14
        assert "14 uploaded, 4 already there." in resumed.stdout
        assert len(list(restarted.storage.iterdir())) == 18


def _second_clone_after_first_published(kit: Any, index: RunningIndex) -> Path:
    """Two clones plan common-utils 0.1.1 with different changelogs (different sdist bytes); the
    first has released and published it. The second, not yet released, is returned."""
    first = kit.make_repo("first", fragments={"common-utils": {"+x.fix.md": "Fixed `x`.\n"}})
    second: Path = kit.make_repo(
        "second", fragments={"common-utils": {"+y.fix.md": "Fixed `y`.\n"}}
    )
    assert kit.tool("release", repo=first, env=kit.index_env(index)).returncode == 0
    return second


def _stored(index: RunningIndex) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in index.storage.iterdir()}


def test_a_version_already_on_the_index_is_refused_before_anything_is_written(
    kit: Any, index: RunningIndex
) -> None:
    second = _second_clone_after_first_published(kit, index)
    published = _stored(index)
    before = kit.state(second)

    clash = kit.tool("release", repo=second, env=kit.index_env(index))

    assert clash.returncode == 1
    line = _one_line(clash.stderr)
    assert line.startswith(f"release: common-utils 0.1.1 is already on {index.url} (")
    assert "common_utils-0.1.1-py3-none-any.whl, common_utils-0.1.1.tar.gz" in line
    assert "never replaced" in line
    assert kit.state(second) == before
    assert _stored(index) == published


def test_different_bytes_under_a_published_file_are_refused_at_publish(
    kit: Any, index: RunningIndex
) -> None:
    second = _second_clone_after_first_published(kit, index)
    published = _stored(index)
    env = kit.index_env(index)
    # Released without an index to ask, then published: the bytes meet the index's only now.
    assert kit.tool("release", "--no-publish", repo=second, env=env).returncode == 0

    clash = kit.tool("release", repo=second, env=env)

    assert clash.returncode == 1
    line = _one_line(clash.stderr)
    # Two releases within one second build the same wheel (same SOURCE_DATE_EPOCH); their
    # sdists still differ. Either file with other bytes must stop the publish.
    assert re.search(r"common_utils-0\.1\.1(-py3-none-any\.whl|\.tar\.gz) is already on", line)
    assert "with other content" in line
    assert "never replaced" in line
    assert _stored(index) == published


def test_a_failed_build_rolls_the_work_tree_back(kit: Any, index: RunningIndex) -> None:
    make_repo, tool, git, index_env = kit.make_repo, kit.tool, kit.git, kit.index_env
    repo = make_repo(fragments=THREE)
    # The plan is fine; hatchling refuses the package once versions and changelogs are written.
    pyproject = repo / "packages/common_clients/pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('readme = "README.md"', 'readme = "NO.md"'))
    git(repo, "commit", "--quiet", "-am", "Break the clients' readme")
    before = kit.state(repo)

    failed = tool("release", "--outdir", str(repo.parent / "out"), repo=repo, env=index_env(index))

    assert failed.returncode == 1
    assert "common-clients did not build" in failed.stderr
    assert git(repo, "status", "--porcelain") == ""
    assert kit.state(repo) == before
    assert list(index.storage.iterdir()) == []


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (
            "malformed fragment",
            "release: malformed fragment packages/common_auth/changelog.d/+oops.feat.md: unknown "
            "fragment type 'feat'",
        ),
        ("unknown package", "unknown package 'common-nope'"),
        ("missing index", "does not answer"),
        ("upload URL that takes no uploads", "nowhere/ takes no uploads at that URL (HTTP 405)"),
        ("bad credential", "refused the upload credentials of user 'commons' (HTTP 403)"),
        ("dirty work tree", "the work tree is not clean (packages/common_utils/README.md)"),
        ("existing tag", "tag common-utils-v0.2.0 already exists"),
    ],
)
def test_bad_input_is_one_line_naming_the_thing_and_changes_nothing(
    case: str, expected: str, kit: Any, index: RunningIndex
) -> None:
    tool, git, index_env = kit.tool, kit.git, kit.index_env
    repo = kit.make_repo(fragments=THREE)
    env = index_env(index)
    args: list[str] = []
    if case == "malformed fragment":
        (repo / "packages/common_auth/changelog.d/+oops.feat.md").write_text("Added.\n")
        git(repo, "add", "-A")
        git(repo, "commit", "--quiet", "-m", "A bad fragment")
    elif case == "unknown package":
        args = ["--package", "common-nope"]
    elif case == "missing index":
        env = index_env(None, f"http://127.0.0.1:{free_port()}/")
    elif case == "upload URL that takes no uploads":
        env["COMMONS_INDEX_URL"] = f"{index.url}nowhere/"
        env["COMMONS_INDEX_SIMPLE_URL"] = index.simple_url
    elif case == "bad credential":
        env["TWINE_PASSWORD"] = "not-the-password"
    elif case == "dirty work tree":
        (repo / "packages/common_utils/README.md").write_text("edited\n")
    elif case == "existing tag":
        git(repo, "tag", "common-utils-v0.2.0")
    before = kit.state(repo)

    result = tool("release", *args, repo=repo, env=env)

    assert result.returncode == 1
    line = _one_line(result.stderr)
    assert line.startswith("release: ")
    assert expected in line
    assert "not-the-password" not in result.stdout + result.stderr
    assert index.credentials.password not in result.stdout + result.stderr
    assert kit.state(repo) == before
    assert list(index.storage.iterdir()) == []
